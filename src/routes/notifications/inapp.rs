//! The in-app channel: unread notices on the keys page (each naming its key, with its link)
//! and `POST /settings/notices/{id}/dismiss` (a plain form, no script needed).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::notices;
use crate::domain::notice_text::{Item, describe};
use crate::domain::time::{local_datetime, relative};
use crate::error::AppError;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// Unread notices shown at most.
pub const SHOWN: i64 = 10;

/// A notice in the list.
pub struct NoticeView {
    /// Its id (the dismiss form's target).
    pub id: Uuid,
    /// Its kind's code (a `data-` attribute).
    pub kind: &'static str,
    /// The headline.
    pub summary: String,
    /// The lines, each naming a key, with its link.
    pub items: Vec<Item>,
    /// "2 hours ago".
    pub when: String,
    /// Exact time.
    pub when_title: String,
}

/// The account's unread notices (newest `SHOWN`) and how many are unread in all.
pub async fn unread(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    tz: Tz,
) -> Result<(Vec<NoticeView>, i64), AppError> {
    let (rows, total) = notices::unread_for_account(conn, account, SHOWN).await?;
    let now = Utc::now();
    let views = rows
        .into_iter()
        .map(|n| {
            let text = describe(n.kind, &n.payload, tz, now);
            NoticeView {
                id: n.id,
                kind: n.kind.as_str(),
                summary: text.summary,
                items: text.items,
                when: relative(n.created_at, now),
                when_title: format!("{} ({})", local_datetime(n.created_at, tz), tz.name()),
            }
        })
        .collect();
    Ok((views, total))
}

/// `POST /settings/notices/{id}/dismiss`: marks the notice read and returns to the keys page.
/// Another account's id changes nothing and looks the same.
pub async fn dismiss(
    id: web::Path<Uuid>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if notices::dismiss_for_account(&mut conn, current.user.id, id.into_inner()).await? {
        session.set_flash("Notice dismissed.")?;
    }
    Ok(see_other("/settings/api-keys"))
}
