//! What every handler can reach: the pool, the settings, the clock, the outbox waker, and the
//! API runtime (so portal changes can invalidate cached credentials at once).

use std::sync::Arc;

use tokio::sync::Notify;

use crate::auth::password::PasswordHasher;
use crate::clock::SharedClock;
use crate::db::Pool;
use crate::gateway::ApiRuntime;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    /// Wakes the outbox dispatcher after a transaction queued mail.
    pub outbox_wake: Arc<Notify>,
    /// The API's credential cache, rate limits and usage counters.
    pub api: Arc<ApiRuntime>,
    /// Work handlers start after answering (shutdown and tests wait for it).
    pub background: crate::background::Background,
    /// The one bounded gate every argon2 computation goes through.
    pub passwords: Arc<PasswordHasher>,
    /// Seals second-factor secrets at rest (key derived from the portal's secret key).
    pub sealer: crate::auth::mfa::Sealer,
    /// The WebAuthn relying party; `None` when the base URL has no domain name.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// Whether changes announced by other instances are being heard (`gateway::listener`).
    pub changes: crate::gateway::listener::ListenerState,
}

impl AppState {
    pub fn mail_queued(&self) {
        self.outbox_wake.notify_one();
    }
}
