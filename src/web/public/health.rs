use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::db;
use crate::state::AppState;

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = db::run(&state.pool, |c| Ok(c.batch_execute("SELECT 1")?)).await;
    let limits = state.api.rate_limit_mode().await;
    match ok {
        // `changes`: whether changes made on other instances reach this one at once
        // (`listening`), only within the cache TTL (`reconnecting`), or there are no others
        // (`off`, SQLite).
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "database": "ok",
            "changes": state.changes.label(),
            "rate_limits": limits,
        })),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "status": "unavailable",
                "database": "error",
                "changes": state.changes.label(),
                "rate_limits": limits,
            }))
        }
    }
}
