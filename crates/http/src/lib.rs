//! # sscard-http
//!
//! The HTTP channel of sscard: an axum server that only calls `sscard-service` (and pure
//! `sscard-domain` types).
//!
//! - `/healthz` (process alive), `/readyz` (database answers), `/metrics` (Prometheus text);
//! - the JSON API under `/api/v1/` (see [`api`]), described by the OpenAPI 3 document at
//!   `/api/v1/openapi.json`, generated from the handlers ([`api_router`]);
//! - the landing page `/` ([`pages`]) and the cardholder web portal `/portal/` ([`portal`]);
//! - the self-service kiosk `/kiosk/` ([`kiosk`]).
//!
//! Service calls are blocking (synchronous database clients) and always run on tokio's
//! blocking pool ([`api::blocking`]). Every request gets an `x-request-id`, an access-log line
//! with ID numbers masked, and its metrics ([`observe`]). Errors are JSON ([`error`]); a panic
//! in a handler becomes a 500 error JSON.

pub mod api;
pub mod api_aftercare;
pub mod api_bank;
pub mod api_cards;
pub mod api_ivr;
pub mod api_ledger;
pub mod api_medical;
pub mod auth;
pub mod console;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod kiosk;
pub mod metrics;
pub mod observe;
pub mod pages;
pub mod portal;
mod signed;
pub mod tls;

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sscard_service::App;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    /// The OpenAPI document, serialised once.
    pub openapi: Arc<String>,
}

/// The prefix of the JSON API.
pub const API_PREFIX: &str = "/api/v1";

/// The API routes and their OpenAPI description, from one place: a handler registered here is
/// in the document, and only handlers registered here are routed under `/api/v1/`.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(api::ApiDoc::openapi())
        .routes(routes!(api::list_regions))
        .routes(routes!(api::get_region))
        .routes(routes!(api::list_agencies))
        .routes(routes!(api::get_division))
        .routes(routes!(api::validate_document))
        .routes(routes!(api::validate_credit_code))
        .routes(routes!(api::openapi_json))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::me))
        .routes(routes!(api_cards::create_application))
        .routes(routes!(api_cards::import_roster))
        .routes(routes!(api_cards::create_batch))
        .routes(routes!(api_cards::get_batch))
        .routes(routes!(api_cards::bank_file))
        .routes(routes!(api_cards::bank_return))
        .routes(routes!(api_cards::collect_card))
        .routes(routes!(api_cards::report_loss))
        .routes(routes!(api_cards::lift_loss))
        .routes(routes!(api_cards::pin_verify))
        .routes(routes!(api_cards::pin_change))
        .routes(routes!(api_cards::pin_reset))
        .routes(routes!(api_cards::pin_unlock))
        .routes(routes!(api_cards::search_persons))
        .routes(routes!(api_cards::person_detail))
        .routes(routes!(api_aftercare::reissue_card))
        .routes(routes!(api_aftercare::get_certificate))
        .routes(routes!(api_aftercare::certificate_pdf))
        .routes(routes!(api_aftercare::issue_temporary))
        .routes(routes!(api_aftercare::replace_card))
        .routes(routes!(api_aftercare::correct_card))
        .routes(routes!(api_aftercare::cancel_card))
        .routes(routes!(api_aftercare::record_death))
        .routes(routes!(api_aftercare::create_heir_claim))
        .routes(routes!(api_aftercare::pay_heir))
        .routes(routes!(api_aftercare::list_fees))
        .routes(routes!(api_ledger::create_payout, api_ledger::list_payouts))
        .routes(routes!(api_bank::activate))
        .routes(routes!(api_bank::loss))
        .routes(routes!(api_bank::unfreeze))
        .routes(routes!(api_bank::batch_return))
        .routes(routes!(api_medical::sign_in))
        .routes(routes!(api_medical::person_info))
        .routes(routes!(api_medical::presettle))
        .routes(routes!(api_medical::settle))
        .routes(routes!(api_medical::reverse))
        .routes(routes!(api_medical::revoke))
        .routes(routes!(api_medical::reconcile_totals))
        .routes(routes!(api_medical::reconcile_detail))
        .routes(routes!(api_ivr::start_call))
        .routes(routes!(api_ivr::send_keys))
        .routes(routes!(api_ivr::hang_up))
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    router_with_extra_routes(app, Router::new())
}

/// [`router`] with more routes behind the same layers (tests use it to add a panicking route).
#[doc(hidden)]
pub fn router_with_extra_routes(app: App, extra: Router<AppState>) -> Router {
    let (api, mut doc) = api_router().split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let openapi = doc.to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise the OpenAPI document");
        "{}".to_string()
    });
    let metrics = Arc::new(Metrics::new());
    let state = AppState {
        app,
        metrics: metrics.clone(),
        openapi: Arc::new(openapi),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/", get(pages::landing))
        .route("/assets/fonts/NotoSansSC-Regular.otf", get(pages::cjk_font))
        .merge(portal::router())
        .merge(console::router())
        .merge(kiosk::router())
        .merge(api)
        .merge(extra)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            observe::observe,
        ))
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes the requests in flight and returns.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(router(app), listener, shutdown).await
}

/// [`serve`] for a router already built (tests use it with extra routes).
#[doc(hidden)]
pub async fn serve_router(
    router: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<AppState>) -> Response {
    match api::blocking(&s.app, |app| app.ready()).await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            let mut e = e;
            e.0.kind = sscard_service::ErrorKind::Unavailable;
            e.into_response()
        }
    }
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    let stats = match api::blocking(&s.app, |app| app.stats()).await {
        Ok(stats) => Some(stats),
        Err(e) => {
            tracing::warn!(code = e.0.code, "metrics: database counts unavailable");
            None
        }
    };
    let mut text = s.metrics.render_http();
    text.push_str(&metrics::render_gauges(stats.as_ref()));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path == API_PREFIX || path.starts_with("/api/") {
        ApiError::route_not_found(path).into_response()
    } else {
        pages::not_found()
    }
}

async fn method_not_allowed() -> Response {
    error::method_not_allowed()
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic message may hold request data: it is not logged here nor sent to the client
    // (the panic hook of the binary reports it).
    tracing::error!("a request handler panicked");
    let mut resp = ApiError::internal().into_response();
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp
}
