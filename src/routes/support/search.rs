//! The search: `GET /support[?q=…]` for bookmarkable results, `POST /support` for the form.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::layout;
use crate::auth::CurrentUser;
use crate::db::{api_keys, users};
use crate::domain::key::{DISPLAY_PREFIX_LEN, DISPLAY_TAIL_LEN};
use crate::domain::{KEY_PREFIX, PlainKey, limits};
use crate::error::AppError;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

const PAGE: i64 = 20;

/// A search hit.
pub struct AccountHit {
    /// The row's id.
    pub id: Uuid,
    /// The login e-mail.
    pub email: String,
    /// Member or support staff.
    pub role: &'static str,
    /// Whether API keys are enabled for the account.
    pub api_keys_enabled: bool,
}

impl From<users::User> for AccountHit {
    fn from(u: users::User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role.as_str(),
            api_keys_enabled: u.api_keys_enabled,
        }
    }
}

/// The hits of one kind of match; a search that ran two kinds names each.
pub struct HitGroup {
    /// What matched ("Key ending …Jx9QzA"); `None` when the search ran one kind only.
    pub heading: Option<String>,
    /// The accounts.
    pub hits: Vec<AccountHit>,
}

#[derive(Template)]
#[template(path = "support/search.html")]
struct SearchPage {
    layout: Layout,
    query: String,
    searched: bool,
    full_key_pasted: bool,
    error: Option<String>,
    groups: Vec<HitGroup>,
    any_hits: bool,
    page: i64,
    more: bool,
}

/// Search parameters.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    page: String,
}

/// More than a display prefix after `phy_` (and not the two-ended display form): a whole (or
/// nearly whole) secret, which must never travel in a URL.
fn looks_like_a_secret(q: &str) -> bool {
    q.starts_with(KEY_PREFIX) && q.chars().count() > DISPLAY_PREFIX_LEN && ends(q).is_none()
}

/// A key as shown by keydesk, by its start, its end or both: `phy_7QkR2mXa…Jx9QzA`,
/// `…Jx9QzA` (also with `...`). Returns the start (may be empty) and the 6-character end.
fn ends(q: &str) -> Option<(&str, &str)> {
    let (start, end) = q.split_once('…').or_else(|| q.split_once("..."))?;
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let start_ok = start.is_empty()
        || (start.starts_with(KEY_PREFIX)
            && start.len() <= DISPLAY_PREFIX_LEN
            && alnum(&start[KEY_PREFIX.len()..]));
    (start_ok && end.len() == DISPLAY_TAIL_LEN && alnum(end)).then_some((start, end))
}

/// A key's end as a customer reads it out, without the `…`: exactly six base62 characters. It
/// is searched as a key tail and as the start of an e-mail alike (`Jx9QzA` could be either).
fn bare_tail(q: &str) -> Option<&str> {
    (q.len() == DISPLAY_TAIL_LEN && q.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(q)
}

/// Renders the search page with a message and no results.
fn refusal(
    current: &CurrentUser,
    query: String,
    error: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = SearchPage {
        query,
        error: Some(error.to_owned()),
        ..SearchPage::empty(current)
    };
    render(&page, status)
}

impl SearchPage {
    /// The search page with no query and no results.
    fn empty(current: &CurrentUser) -> Self {
        Self {
            layout: layout(current, "Support"),
            query: String::new(),
            searched: false,
            full_key_pasted: false,
            error: None,
            groups: Vec::new(),
            any_hits: false,
            page: 1,
            more: false,
        }
    }
}

/// `GET /support[?q=…]`: results for an e-mail prefix, an account id, a key's start or end
/// (`…Jx9QzA`, or a bare `Jx9QzA`, which also searches e-mails). A whole key in the address is
/// refused (400) without being echoed: it belongs in the form (POST).
pub async fn search(
    query: web::Query<SearchQuery>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.q.trim();
    if looks_like_a_secret(q) {
        let msg = "That looks like a whole API key. Keys never go into a web address (it would \
                   stay in browser history and proxy logs): paste it into the search box instead.";
        return refusal(&current, String::new(), msg, StatusCode::BAD_REQUEST);
    }
    if q.chars().count() > limits::SEARCH {
        let msg = format!("Search for at most {} characters.", limits::SEARCH);
        return refusal(
            &current,
            String::new(),
            &msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let page = query.page.parse::<i64>().unwrap_or(1).clamp(1, 10_000);
    let mut conn = state.pool.get().await?;
    let mut more = false;
    let mut by_tail = None;
    let users_found: Vec<users::User> = if q.is_empty() {
        Vec::new()
    } else if let Ok(id) = Uuid::parse_str(q) {
        users::find(&mut conn, id).await?.into_iter().collect()
    } else if let Some((start, end)) = ends(q) {
        let mut ids = api_keys::accounts_by_key_tail(&mut conn, end).await?;
        if !start.is_empty() {
            let by_start = api_keys::accounts_by_key_prefix(&mut conn, start).await?;
            ids.retain(|id| by_start.contains(id));
        }
        let mut found = users::find_many(&mut conn, &ids).await?;
        found.sort_by(|a, b| a.email.cmp(&b.email));
        found
    } else if q.starts_with(KEY_PREFIX) {
        let prefix: String = q.chars().take(DISPLAY_PREFIX_LEN).collect();
        let ids = api_keys::accounts_by_key_prefix(&mut conn, &prefix).await?;
        let mut found = users::find_many(&mut conn, &ids).await?;
        found.sort_by(|a, b| a.email.cmp(&b.email));
        found
    } else {
        // the key matches are few (at most 50): on the first page only
        if page == 1
            && let Some(tail) = bare_tail(q)
        {
            let ids = api_keys::accounts_by_key_tail(&mut conn, tail).await?;
            let mut found = users::find_many(&mut conn, &ids).await?;
            found.sort_by(|a, b| a.email.cmp(&b.email));
            by_tail = Some((tail, found));
        }
        let mut found =
            users::search_by_email_prefix(&mut conn, q, PAGE + 1, (page - 1) * PAGE).await?;
        more = found.len() as i64 > PAGE;
        found.truncate(PAGE as usize);
        found
    };
    let hits: Vec<AccountHit> = users_found.into_iter().map(AccountHit::from).collect();
    let groups = match by_tail {
        None => vec![HitGroup {
            heading: None,
            hits,
        }],
        Some((tail, found)) => vec![
            HitGroup {
                heading: Some(format!("Key ending …{tail}")),
                hits: found.into_iter().map(AccountHit::from).collect(),
            },
            HitGroup {
                heading: Some(format!("E-mail starting with “{q}”")),
                hits,
            },
        ],
    };
    let page_view = SearchPage {
        layout: layout(&current, "Support"),
        query: q.to_owned(),
        searched: !q.is_empty(),
        full_key_pasted: false,
        error: None,
        any_hits: groups.iter().any(|g| !g.hits.is_empty()),
        groups,
        page,
        more,
    };
    render(&page_view, StatusCode::OK)
}

/// The search form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SearchForm {
    q: String,
}

/// `POST /support`: the search form. A whole key is looked up by its hash and answered with a
/// 303 to its account (or a "no account" page) — never with the key in a URL; anything else is
/// redirected to the `GET` results, which are safe to bookmark.
pub async fn search_form(
    form: CsrfForm<SearchForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = form.into_inner().q;
    let q = q.trim();
    if q.chars().count() > limits::SEARCH {
        let msg = format!("Search for at most {} characters.", limits::SEARCH);
        return refusal(
            &current,
            String::new(),
            &msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if !looks_like_a_secret(q) {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        return Ok(see_other(&format!("/support?q={q}")));
    }
    const PASTED: &str = "That was a whole API key. It was looked up by its hash and isn't shown \
        here. Ask the customer to revoke it and create a new one: a key pasted into a chat or \
        e-mail is exposed.";
    let found = match PlainKey::parse(q) {
        Ok(key) => {
            let mut conn = state.pool.get().await?;
            api_keys::account_by_hash(&mut conn, &state.key_hasher.hash(&key)).await?
        }
        Err(_) => None,
    };
    match found {
        Some(id) => {
            session.set_flash(PASTED)?;
            Ok(see_other(&format!("/support/accounts/{id}")))
        }
        None => {
            let page = SearchPage {
                searched: true,
                full_key_pasted: true,
                ..SearchPage::empty(&current)
            };
            render(&page, StatusCode::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_either_end_but_a_secret_is_not_a_search() {
        assert_eq!(
            ends("phy_7QkR2mXa…Jx9QzA"),
            Some(("phy_7QkR2mXa", "Jx9QzA"))
        );
        assert_eq!(ends("…Jx9QzA"), Some(("", "Jx9QzA")));
        assert_eq!(ends("...Jx9QzA"), Some(("", "Jx9QzA")));
        assert_eq!(ends("…Jx9Qz"), None);
        assert_eq!(ends("phy_7QkR2mXa99…Jx9QzA"), None);
        assert!(!looks_like_a_secret("phy_7QkR2mXa…Jx9QzA"));
        assert!(looks_like_a_secret(PlainKey::generate().expose()));
        let secret = PlainKey::generate();
        assert!(looks_like_a_secret(&format!("{}…Jx9QzA", secret.expose())));
    }

    #[test]
    fn six_base62_characters_are_a_bare_tail_and_nothing_else_is() {
        assert_eq!(bare_tail("Jx9QzA"), Some("Jx9QzA"));
        assert_eq!(
            bare_tail("ana123"),
            Some("ana123"),
            "also searched as an e-mail"
        );
        for not in ["Jx9Qz", "Jx9QzA7", "ana@ex", "…Jx9QzA", "Jx9 zA", "Jx9QzÄ"] {
            assert_eq!(bare_tail(not), None, "{not}");
        }
    }
}
