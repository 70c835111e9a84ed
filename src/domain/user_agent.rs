//! A user agent in a few words ("Chrome 120 · Linux", "curl 8.5"), for tables where the full
//! string (shown on request) would make every row six lines tall.

/// Client products recognised, most specific first (Edge and Opera also say "Chrome", Chrome
/// also says "Safari").
const PRODUCTS: [(&str, &str); 9] = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "python-requests"),
    ("Go-http-client/", "Go"),
    ("node-fetch/", "node-fetch"),
];

/// Operating systems recognised, most specific first.
const SYSTEMS: [(&str, &str); 6] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// Longest short form, in characters.
const MAX_SHORT: usize = 40;

/// The short form: product and major version, and the system when the string names one; an
/// unknown agent is cut to its first word (at most 40 characters).
pub fn short(ua: &str) -> String {
    let ua = ua.trim();
    let product = PRODUCTS.iter().find_map(|(token, name)| {
        let at = ua.find(token)? + token.len();
        let major: String = ua[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Some(if major.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name} {major}")
        })
    });
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name);
    let text = match (product, system) {
        (Some(p), Some(s)) => format!("{p} · {s}"),
        (Some(p), None) => p,
        (None, _) => ua.split_whitespace().next().unwrap_or_default().to_owned(),
    };
    text.chars().take(MAX_SHORT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents_read_as_product_version_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(short(chrome), "Chrome 120 · Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
        assert_eq!(short(edge), "Edge 120 · Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(short(safari), "Safari 17 · iOS");
        assert_eq!(short("curl/8.5.0"), "curl 8");
        assert_eq!(
            short("my-buyback-bot/2.1 (+https://example.com)"),
            "my-buyback-bot/2.1"
        );
        assert_eq!(short(""), "");
        assert_eq!(short(&"x".repeat(300)).chars().count(), 40);
    }
}
