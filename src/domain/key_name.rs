//! The label a user gives a key.

/// A valid key name: 1–64 characters after trimming, no control or bidi-override characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

/// Characters that could disguise a name (bidi overrides and isolates, zero-width joiners
/// used for spoofing) are refused along with control characters.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}'
            | '\u{061C}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// Text safe to show: control and bidi characters (which could make `abc\u{202E}gnp.exe`
/// display as `abcexe.png`) are replaced by a visible `[U+202E]`. For names stored before
/// validation existed, and for anything else users type (user agents).
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_forbidden(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

impl KeyName {
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Trims and checks a name; the error is the message shown next to the field.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a name for the key, such as production-bot");
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err("Name must be 64 characters or fewer");
        }
        if name.chars().any(is_forbidden) {
            return Err("Name can't contain control or text-direction characters");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a key is for: 0–280 characters after trimming, the same character rules as names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyNote(String);

impl KeyNote {
    /// Longest note, in characters.
    pub const MAX_CHARS: usize = 280;

    /// Trims and checks a note (empty is fine); the error is the message shown next to the field.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let note = raw.trim();
        if note.chars().count() > Self::MAX_CHARS {
            return Err("Note must be 280 characters or fewer");
        }
        if note.chars().any(is_forbidden) {
            return Err("Note can't contain control or text-direction characters");
        }
        Ok(Self(note.to_owned()))
    }

    /// The note.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_may_be_empty_but_not_long_or_disguised() {
        assert_eq!(KeyNote::parse("  ").unwrap().as_str(), "");
        assert_eq!(
            KeyNote::parse(" buys on the 1st ").unwrap().as_str(),
            "buys on the 1st"
        );
        assert!(KeyNote::parse(&"n".repeat(280)).is_ok());
        assert!(KeyNote::parse(&"n".repeat(281)).is_err());
        assert!(KeyNote::parse("line\nbreak").is_err());
        assert!(KeyNote::parse("abc\u{202E}gnp").is_err());
    }

    #[test]
    fn names_are_trimmed_and_may_use_any_script() {
        assert_eq!(
            KeyName::parse("  production-bot ").unwrap().as_str(),
            "production-bot"
        );
        assert!(KeyName::parse("Bot für Käufe ✓").is_ok());
        assert!(KeyName::parse("買い戻し").is_ok());
        assert!(KeyName::parse(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn hidden_characters_become_visible() {
        assert_eq!(visible("abc\u{202E}gnp.exe"), "abc[U+202E]gnp.exe");
        assert_eq!(visible("plain ✓"), "plain ✓");
        assert_eq!(visible("a\nb"), "a[U+000A]b");
    }

    #[test]
    fn bad_names_are_refused_with_a_message() {
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse("   ").is_err());
        assert!(KeyName::parse(&"a".repeat(65)).is_err());
        assert!(KeyName::parse("bad\u{202E}gnp.exe").is_err());
        assert!(KeyName::parse("tab\there").is_err());
        assert!(KeyName::parse("nul\0").is_err());
        assert!(KeyName::parse("zero\u{200B}width").is_err());
    }
}
