//! `GET /support/accounts/{id}/export`: support staff export an account's usage or audit trail
//! (its staff events included) exactly as the owner would (`routes::export`). Each export is
//! recorded in the account's trail (`support.exported`: who, what, format, days) before the
//! file starts; when that cannot be written, nothing is exported.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::audit::{self, NewEvent};
use crate::db::users;
use crate::domain::AuditAction;
use crate::error::AppError;
use crate::routes::export::{self, Checked, ExportQuery, Frame, Source};
use crate::routes::origin;
use crate::state::AppState;

/// `GET /support/accounts/{id}/export?what=…&format=…&from=…&to=…`.
pub async fn export(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
    let mut conn = state.pool.get().await?;
    let user = users::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let frame = Frame {
        nav: "support",
        heading: format!("Export {}", user.email),
        action: format!("/support/accounts/{}/export", user.id),
        back: (format!("/support/accounts/{}", user.id), user.email.clone()),
        whose: format!("the keys and account of {}", user.email),
    };
    let export = match export::check(&query, &current, frame)? {
        Checked::Page(page) => return Ok(page),
        Checked::Run(export) => export,
    };
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(user.id),
            actor_id: Some(current.user.id),
            action: AuditAction::SupportExported,
            key_id: None,
            detail: serde_json::json!({
                "staff": current.user.email,
                "what": export.what.as_str(),
                "format": export.format.as_str(),
                "from": export.from.to_string(),
                "to": export.to.to_string(),
            }),
        },
        &origin(&req),
    )
    .await?;
    drop(conn);
    let filename = export.filename(&user.email, user.id);
    let source = Source {
        pool: state.pool.clone(),
        account: user.id,
        staff_events: true,
        export,
    };
    export::response(source, &filename).await
}
