//! `GET /settings/api-keys/export`: the account's usage or audit trail as CSV or JSON for up
//! to 90 days, streamed (`routes::export`). Without a query, the form; with a wrong one, the
//! form again (422) naming what is wrong. Support staff's own events are not in the owner's
//! audit trail (they carry staff's address and user agent).

use actix_web::{HttpResponse, web};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::routes::export::{self, Checked, ExportQuery, Frame, Source};
use crate::state::AppState;

/// `GET /settings/api-keys/export?what=usage|audit&format=csv|json&from=…&to=…`.
pub async fn download(
    query: web::Query<ExportQuery>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let frame = Frame {
        nav: "api-keys",
        heading: "Export usage or activity".to_owned(),
        action: "/settings/api-keys/export".to_owned(),
        back: ("/settings/api-keys".to_owned(), "API keys".to_owned()),
        whose: "your keys and your account".to_owned(),
    };
    let export = match export::check(&query, &current, frame)? {
        Checked::Page(page) => return Ok(page),
        Checked::Run(export) => export,
    };
    let user = &current.user;
    let filename = export.filename(&user.email, user.id);
    let source = Source {
        pool: state.pool.clone(),
        account: user.id,
        staff_events: false,
        export,
    };
    export::response(source, &filename).await
}
