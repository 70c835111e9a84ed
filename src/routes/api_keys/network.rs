//! Network binding: `GET/POST /settings/api-keys/{id}/network`. The page shows the key's allow
//! list and mode, proposes a list from the addresses the key was used from in the last 30 days
//! (`?propose=1`: IPv4 /32, IPv6 /64, in dry-run), checks an address (`?check=…`), lists the
//! addresses a dry-run would have refused (with "add this address" and "enforce now"), and
//! saves a new binding. Widening the list, or a weaker mode (enforce → dry-run → off), needs
//! the recent password; narrowing never does. Every bad range is a 422 with the input kept.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::sudo::{self, AsksPassword, owned_key};
use crate::auth::CurrentUser;
use crate::auth::reauth::Reauth;
use crate::db::api_keys::{self, BindingOutcome, KeyRow};
use crate::db::usage::{self, ClientIp};
use crate::domain::key_status::REVOKED_IS_FINAL;
use crate::domain::network::{
    Binding, MAX_INPUT, MAX_RANGES, NetworkMode, Networks, Placement, propose,
};
use crate::domain::time::{local_datetime, relative, zone};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// A mode choice of the form.
pub struct ModeChoice {
    /// `off`, `dry_run`, `enforce`.
    pub value: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Selected.
    pub checked: bool,
}

/// An address the key was used from, as the page lists it.
pub struct AddressRow {
    /// The address.
    pub ip: String,
    /// Requests from it (30 days kept per address row).
    pub requests: i64,
    /// Of them, accepted from outside the list in dry-run.
    pub outside: i64,
    /// Of them, refused.
    pub refused: i64,
    /// Last seen, relative.
    pub last_seen: String,
    /// Last seen, exact (local).
    pub last_seen_exact: String,
    /// Its latest user agent (may be empty).
    pub user_agent: String,
}

/// A proposed range.
pub struct Proposed {
    /// The range.
    pub range: String,
    /// Requests from it in the last 30 days.
    pub requests: i64,
}

#[derive(Template)]
#[template(path = "api_keys/network.html")]
struct NetworkPage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    /// Why it can't change (revoked), else none.
    error: Option<String>,
    can_submit: bool,
    /// The binding as stored, in words.
    current_mode: &'static str,
    current_ranges: Vec<String>,
    /// The form.
    ranges_input: String,
    ranges_error: Option<String>,
    modes: Vec<ModeChoice>,
    max_ranges: usize,
    max_input: usize,
    /// The proposal shown (`?propose=1`).
    proposed: Vec<Proposed>,
    proposing: bool,
    /// `?check=`: the address as typed and the answer.
    check_input: String,
    check_result: Option<String>,
    /// Addresses a dry-run counted as "would have been refused".
    outside: Vec<AddressRow>,
    dry_run: bool,
    password_required: bool,
    password_error: Option<String>,
}

impl AsksPassword for NetworkPage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}

fn modes(selected: NetworkMode) -> Vec<ModeChoice> {
    NetworkMode::ALL
        .iter()
        .map(|m| ModeChoice {
            value: m.as_str(),
            label: m.label(),
            checked: *m == selected,
        })
        .collect()
}

fn page(current: &CurrentUser, key: &KeyRow, ips: &[ClientIp]) -> NetworkPage {
    let binding = key.binding();
    let tz = zone(&current.user.time_zone);
    let now = Utc::now(); // display only
    let outside = ips
        .iter()
        .filter(|r| r.outside > 0)
        .map(|r| AddressRow {
            ip: r.client_ip.clone(),
            requests: r.requests,
            outside: r.outside,
            refused: r.refused,
            last_seen: relative(r.last_seen, now),
            last_seen_exact: format!("{} ({})", local_datetime(r.last_seen, tz), tz.name()),
            user_agent: crate::domain::key_name::visible(r.user_agent.as_deref().unwrap_or("")),
        })
        .collect();
    let refused = key
        .revoked_at
        .is_some()
        .then(|| REVOKED_IS_FINAL.to_owned());
    NetworkPage {
        layout: current.layout(format!("Network binding of {}", key.name), "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        can_submit: refused.is_none(),
        error: refused,
        current_mode: binding.mode.label(),
        current_ranges: binding
            .networks
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect(),
        ranges_input: binding.networks.lines(),
        ranges_error: None,
        modes: modes(binding.mode),
        max_ranges: MAX_RANGES,
        max_input: MAX_INPUT,
        proposed: Vec::new(),
        proposing: false,
        check_input: String::new(),
        check_result: None,
        dry_run: binding.mode == NetworkMode::DryRun,
        outside,
        password_required: false,
        password_error: None,
    }
}

/// The page's query: `propose=1`, `check=<address>`, `add=<address>`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NetworkQuery {
    propose: Option<String>,
    check: Option<String>,
    add: Option<String>,
}

/// What `check` says about `ip` under `binding`.
fn check_words(binding: &Binding, ip: IpAddr) -> String {
    match (binding.mode, binding.place(Some(ip))) {
        (_, Placement::Unbound) | (_, Placement::Unknown) => {
            format!("{ip} would be accepted: network binding is off, so any address is.")
        }
        (NetworkMode::Enforce, Placement::Inside(n))
        | (NetworkMode::DryRun, Placement::Inside(n)) => {
            format!("{ip} would be accepted: it is inside {n}.")
        }
        (NetworkMode::Enforce, Placement::Outside) => {
            format!(
                "{ip} would be refused (403 ip_not_allowed): it is outside every range of the list."
            )
        }
        (_, Placement::Outside) | (NetworkMode::Off, Placement::Inside(_)) => format!(
            "{ip} is outside the list: accepted while this key is in dry-run, and counted as “would have been refused”."
        ),
    }
}

/// `GET /settings/api-keys/{id}/network`.
pub async fn show(
    id: web::Path<Uuid>,
    query: web::Query<NetworkQuery>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let ips = {
        let mut conn = state.pool.get().await?;
        usage::client_ips_for_key(&mut conn, key.id).await?
    };
    let mut view = page(&current, &key, &ips);
    view.layout.flash = session.take_flash();
    let query = query.into_inner();
    if query.propose.is_some() {
        let since = Utc::now() - Duration::days(30);
        let seen: Vec<(IpAddr, i64)> = ips
            .iter()
            .filter(|r| r.last_seen >= since && r.requests > r.refused)
            .filter_map(|r| Some((r.client_ip.parse().ok()?, r.requests - r.refused)))
            .collect();
        let proposal = propose(&seen);
        view.proposing = true;
        view.ranges_input = proposal
            .iter()
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        view.proposed = proposal
            .into_iter()
            .map(|(n, requests)| Proposed {
                range: n.to_string(),
                requests,
            })
            .collect();
        if key.network_mode == NetworkMode::Off {
            view.modes = modes(NetworkMode::DryRun);
        }
    }
    if let Some(add) = query.add.as_deref().map(str::trim)
        && let Ok(ip) = add.parse::<IpAddr>()
    {
        view.ranges_input = format!(
            "{}\n{}",
            view.ranges_input,
            ipnet::IpNet::from(ip.to_canonical())
        )
        .trim()
        .to_owned();
    }
    if let Some(check) = query.check {
        let typed: String = check.trim().chars().take(64).collect();
        view.check_result = Some(match typed.parse::<IpAddr>() {
            Ok(ip) => check_words(&key.binding(), ip),
            Err(_) => format!("“{typed}” is not an IP address (like 203.0.113.7 or 2001:db8::1)."),
        });
        view.check_input = typed;
    }
    render(&view, StatusCode::OK)
}

/// The binding form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NetworkForm {
    ranges: String,
    mode: String,
    /// Only when loosening asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/network`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<NetworkForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let ips = {
        let mut conn = state.pool.get().await?;
        usage::client_ips_for_key(&mut conn, key.id).await?
    };
    let mut view = page(&current, &key, &ips);
    view.ranges_input = form.ranges.chars().take(MAX_INPUT).collect();
    let mode = NetworkMode::parse(form.mode.trim()).unwrap_or(key.network_mode);
    view.modes = modes(mode);
    if !view.can_submit {
        return render(&view, StatusCode::CONFLICT);
    }
    let binding = match Networks::parse(&form.ranges).and_then(|n| Binding::new(mode, n)) {
        Ok(b) => b,
        Err(why) => {
            view.ranges_error = Some(why);
            return render(&view, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let loosens = key.binding().loosens(&binding);
    if loosens {
        let asked =
            sudo::confirm_loosening(&req, &session, &current, &state, &form.password).await?;
        if asked != Reauth::Confirmed {
            return sudo::password_refused(view, &asked);
        }
    }
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::set_binding_for_account(
        &mut conn,
        current.user.id,
        key.id,
        &binding,
        loosens,
        &origin(&req),
    )
    .await?;
    drop(conn);
    let message = match outcome {
        BindingOutcome::Saved(row) => match binding.mode {
            NetworkMode::Off => format!(
                "Network binding of “{}” is off: any address may use it.",
                row.name
            ),
            NetworkMode::DryRun => format!(
                "“{}” is in dry-run: requests from outside the {} range(s) are accepted and listed below as “would have been refused”.",
                row.name,
                binding.networks.ranges().len()
            ),
            NetworkMode::Enforce => format!(
                "“{}” is bound to {} range(s): requests from anywhere else get 403 ip_not_allowed from now on.",
                row.name,
                binding.networks.ranges().len()
            ),
        },
        BindingOutcome::Unchanged(row) => {
            format!("“{}” already had that binding; nothing changed.", row.name)
        }
        BindingOutcome::NeedsPassword(_) => {
            return sudo::password_refused(view, &Reauth::Needed);
        }
        BindingOutcome::Revoked => return render(&view, StatusCode::CONFLICT),
        BindingOutcome::NotFound => return Err(AppError::NotFound),
    };
    session.set_flash(&message)?;
    Ok(see_other(&format!("/settings/api-keys/{}/network", key.id)))
}
