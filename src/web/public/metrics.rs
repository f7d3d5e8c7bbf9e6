//! `PORTAL_METRICS_ADDR`: `GET /metrics` in the Prometheus text format (served on that
//! listener only, never on the public one), and the middleware that times every request of
//! the pages' and the API's listeners while it is set.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::db::{self, models::outbox};
use crate::metrics::{route_class, OutboxDepth};
use crate::state::AppState;

/// `GET /metrics`. What is read from the database (the outbox) is left out of a scrape when
/// the database does not answer; the rest is still served.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = state.clock.now_naive();
    let depth = match db::run(&state.pool, |c| Ok(outbox::depth(c)?)).await {
        Ok((queued, failed, oldest)) => Some(OutboxDepth {
            queued,
            failed,
            oldest_queued_seconds: oldest
                .map(|at| (now - at).num_seconds().max(0))
                .unwrap_or(0),
        }),
        Err(e) => {
            tracing::warn!(error = ?e, "metrics: reading the outbox's depth failed");
            None
        }
    };
    let limits = state.api.rate_limit_mode().await;
    let text = state
        .api
        .metrics
        .render(state.changes.label(), limits, depth);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// Counts and times each request by route class and status.
pub async fn observe<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let class = route_class(req.path());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.api.metrics.clone());
    let res = next.call(req).await;
    if let Some(m) = metrics {
        let status = match &res {
            Ok(r) => r.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        m.observe_request(class, status, started.elapsed());
    }
    res
}
