//! `require_login`: wraps the settings scope. Loads the logged-in account once per request and
//! hands it to handlers as `ReqData<CurrentUser>`; anonymous requests are sent to the login page.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::db::users::{self, User};
use crate::domain::Role;
use crate::error::AppError;
use crate::session::TypedSession;
use crate::state::AppState;
use crate::templates::see_other;

/// The logged-in account, for handlers.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account row.
    pub user: User,
    /// Its role.
    pub role: Role,
    /// CSRF token for the page's forms.
    pub csrf: String,
    /// When the password was last entered in this session (sign-in or confirmation).
    pub authenticated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CurrentUser {
    /// The page layout for this user: header e-mail, CSRF token, current navigation entry, and
    /// the support console link for staff.
    pub fn layout(&self, title: impl Into<String>, nav: &'static str) -> crate::templates::Layout {
        let mut layout = crate::templates::Layout::new(title, self.csrf.clone());
        layout.user_email = Some(self.user.email.clone());
        layout.nav = nav;
        layout.is_support = self.role == Role::Support;
        layout
    }
}

/// Middleware: 303 to `/login` unless a live session names an existing account.
pub async fn require_login(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let session = TypedSession::of(req.request());
    let Some(user_id) = session.user_id() else {
        return Ok(req.into_response(see_other("/login")));
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.error_response(AppError::Internal(anyhow::anyhow!(
            "application state missing"
        ))));
    };
    let user = match load_user(&state, user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            session.log_out();
            return Ok(req.into_response(see_other("/login")));
        }
        Err(e) => return Ok(req.error_response(e)),
    };
    let csrf = match session.csrf_token() {
        Ok(t) => t,
        Err(e) => return Ok(req.error_response(AppError::from(e))),
    };
    let role = user.role;
    let authenticated_at = session.authenticated_at();
    req.extensions_mut().insert(CurrentUser {
        user,
        role,
        csrf,
        authenticated_at,
    });
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn load_user(state: &AppState, id: uuid::Uuid) -> Result<Option<User>, AppError> {
    let mut conn = state.pool.get().await?;
    Ok(users::find(&mut conn, id).await?)
}
