//! Builds the application: settings → data dir and cookie key → pool → migrations → first-run
//! link → HTTP server (plain or rustls) and the outbox dispatcher. Tests call
//! `Application::build_with` on port 0 with their own clock and mailbox.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServerHandle};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, ErrorHandlers, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tokio::sync::watch;
use tracing_actix_web::TracingLogger;

use crate::auth::password;
use crate::clock::{SharedClock, SystemClock};
use crate::db::models::{tokens, users};
use crate::db::{self, Pool};
use crate::domain::{OneTimeToken, TokenPurpose};
use crate::email::dispatcher::SHUTDOWN_GRACE;
use crate::email::{Dispatcher, Mailer};
use crate::errors::{render_error_page, AppError};
use crate::gateway::ApiRuntime;
use crate::settings::{SecretKey, Settings, TlsSettings};
use crate::state::AppState;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What tests (or other embedders) may replace.
pub struct Deps {
    pub clock: SharedClock,
    /// `None`: SMTP or files, as the settings say.
    pub mailer: Option<Mailer>,
}

impl Default for Deps {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            mailer: None,
        }
    }
}

pub struct Application {
    port: u16,
    server: Server,
    /// `PORTAL_API_ADDR`'s port and server, when the API also has a listener of its own.
    api_port: Option<u16>,
    api_server: Option<Server>,
    /// `PORTAL_METRICS_ADDR`'s port and server.
    metrics_port: Option<u16>,
    metrics_server: Option<Server>,
    /// Hears the changes other instances announce (PostgreSQL only).
    listener: Option<crate::gateway::listener::Listener>,
    pool: Pool,
    dispatcher: Dispatcher,
    dispatcher_enabled: bool,
    api: Arc<ApiRuntime>,
    passwords: Arc<password::PasswordHasher>,
    background: crate::background::Background,
    usage_flush: Option<Duration>,
    jobs_every: Option<Duration>,
    settings: Arc<Settings>,
    clock: SharedClock,
    setup_link: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Deps::default()).await
    }

    pub async fn build_with(settings: Settings, deps: Deps) -> anyhow::Result<Self> {
        // Owner-only, whatever the umask; an existing directory is tightened.
        crate::files::private_dir(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let key = load_or_create_key(&settings)?;
        let pool = db::build_pool(&settings.database)?;
        db::run(&pool, db::run_migrations).await?;
        let setup_link = first_run_link(&pool, &settings, &deps.clock).await?;
        tokio::task::spawn_blocking(password::warm_up).await?;

        let mailer = match deps.mailer {
            Some(m) => m,
            None => Mailer::from_settings(&settings)?,
        };
        let from = settings.mail_from.clone();
        let dispatcher = Dispatcher::new(
            pool.clone(),
            Arc::new(mailer),
            deps.clock.clone(),
            from,
            settings.outbox.clone(),
        );
        let dispatcher_enabled = settings.outbox.dispatcher_enabled;
        let api = Arc::new(ApiRuntime::new(&settings.api)?);
        let passwords = Arc::new(password::PasswordHasher::new(
            settings.password_hash_concurrency,
        )?);
        let settings = Arc::new(settings);
        let background = crate::background::Background::new(tokio::runtime::Handle::current());
        let changes = crate::gateway::listener::ListenerState::default();
        let change_listener = crate::gateway::listener::Listener::start(
            &settings.database,
            api.clone(),
            changes.clone(),
        )?;
        let state = AppState {
            pool: pool.clone(),
            settings: settings.clone(),
            clock: deps.clock.clone(),
            outbox_wake: dispatcher.waker(),
            api: api.clone(),
            passwords: passwords.clone(),
            background: background.clone(),
            sealer: crate::auth::mfa::Sealer::new(key.master()),
            webauthn: crate::auth::passkeys::relying_party(&settings)?.map(Arc::new),
            changes,
        };

        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("binding {}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let https = settings.https();
        let hsts = https;
        let cookie_name = if https {
            "__Host-concat_session"
        } else {
            "concat_session"
        };
        let form_limit = settings.form_limit;
        let redirect_listener = match settings.http_redirect_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("PORTAL_HTTP_REDIRECT_ADDR: binding {addr}"))?,
            ),
            None => None,
        };
        let redirect_plain_http = redirect_listener.is_some();
        let data = web::Data::new(state);
        let api_listener = match settings.api_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("PORTAL_API_ADDR: binding {addr}"))?,
            ),
            None => None,
        };
        let api_port = match &api_listener {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        // With the API on workers of its own, the pages' workers yield the CPU to them.
        let pages_nice = api_listener.is_some().then_some(PAGE_WORKER_NICE);
        let api_data = data.clone();
        let metrics_data = data.clone();
        let metrics_listener = match settings.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("PORTAL_METRICS_ADDR: binding {addr}"))?,
            ),
            None => None,
        };
        let metrics_on = metrics_listener.is_some();
        let metrics_port = match &metrics_listener {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let server = HttpServer::new(move || {
            if let Some(nice) = pages_nice {
                // The factory runs on each worker thread as it starts.
                db::set_nice(nice);
            }
            let headers = security_headers(hsts);
            let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_name(cookie_name.to_string())
                .cookie_secure(https)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_path("/".to_string())
                .cookie_domain(None)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default())
                .build();
            App::new()
                .app_data(data.clone())
                .app_data(web::FormConfig::default().limit(form_limit))
                .app_data(web::PayloadConfig::default().limit(form_limit))
                .configure(crate::web::routes)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(AppError::NotFound)
                }))
                .wrap(from_fn(crate::web::factors::sudo))
                .wrap(ErrorHandlers::new().default_handler(render_error_page))
                .wrap(session)
                .wrap(headers)
                .wrap(Condition::new(
                    redirect_plain_http,
                    from_fn(redirect_to_https),
                ))
                .wrap(TracingLogger::<crate::telemetry::PortalRootSpan>::new())
                .wrap(Condition::new(
                    metrics_on,
                    from_fn(crate::web::public::metrics::observe),
                ))
        });
        // Database work runs on each worker's blocking pool and waits there for one of
        // `PORTAL_DB_POOL_SIZE` connections: more threads than connections only add memory
        // (hundreds of idle threads under a sign-in storm), so the pool is bounded by it.
        // Argon2 has its own workers (`PasswordHasher`).
        let server = server.worker_max_blocking_threads(settings.database.pool_size as usize);
        // Over TLS, ALPN offers HTTP/2 and HTTP/1.1 (actix-web's `http2` feature).
        let mut server = match &settings.tls {
            Some(tls) => server.listen_rustls_0_23(listener, rustls_config(tls)?)?,
            None => server.listen(listener)?,
        };
        if let Some(plain) = redirect_listener {
            server = server.listen(plain)?;
        }
        let server = server.run();
        let api_server = match api_listener {
            Some(listener) => {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(api_data.clone())
                        .app_data(web::PayloadConfig::default().limit(form_limit))
                        .configure(crate::api::routes)
                        .service(
                            web::resource("/healthz")
                                .route(web::get().to(crate::web::public::health::healthz)),
                        )
                        .default_service(web::to(crate::api::not_found))
                        .wrap(security_headers(hsts))
                        .wrap(TracingLogger::<crate::telemetry::PortalRootSpan>::new())
                        .wrap(Condition::new(
                            metrics_on,
                            from_fn(crate::web::public::metrics::observe),
                        ))
                });
                let server = match &settings.tls {
                    Some(tls) => server.listen_rustls_0_23(listener, rustls_config(tls)?)?,
                    None => server.listen(listener)?,
                };
                Some(server.run())
            }
            None => None,
        };
        // Plain HTTP on an address only operators reach; one worker is plenty for scrapes.
        let metrics_server = match metrics_listener {
            Some(listener) => Some(
                HttpServer::new(move || {
                    App::new()
                        .app_data(metrics_data.clone())
                        .service(
                            web::resource("/metrics")
                                .route(web::get().to(crate::web::public::metrics::metrics)),
                        )
                        .default_service(web::to(|| async {
                            actix_web::HttpResponse::NotFound().body("Not found: try /metrics\n")
                        }))
                })
                .workers(1)
                .listen(listener)?
                .run(),
            ),
            None => None,
        };

        Ok(Self {
            port,
            server,
            api_port,
            api_server,
            metrics_port,
            metrics_server,
            listener: change_listener,
            pool,
            dispatcher,
            dispatcher_enabled,
            usage_flush: settings
                .api
                .usage_flusher_enabled
                .then_some(settings.api.usage_flush_interval),
            api,
            passwords,
            background,
            jobs_every: settings
                .jobs
                .scheduler_enabled
                .then_some(settings.jobs.interval),
            settings: settings.clone(),
            clock: deps.clock,
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the API's own listener (`PORTAL_API_ADDR`), if there is one.
    pub fn api_port(&self) -> Option<u16> {
        self.api_port
    }

    /// The port of the metrics listener (`PORTAL_METRICS_ADDR`), if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// The single-use first-run link, when no ConCat admin exists yet.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The API's cache, rate limits and usage counters (tests flush usage by hand).
    pub fn api(&self) -> Arc<ApiRuntime> {
        self.api.clone()
    }

    /// The gate every argon2 computation of this server goes through.
    pub fn passwords(&self) -> Arc<password::PasswordHasher> {
        self.passwords.clone()
    }

    /// Work handlers started after answering ("forgot password"); `idle()` waits for it.
    pub fn background(&self) -> crate::background::Background {
        self.background.clone()
    }

    /// Runs every lifecycle job once at `now` in this process (drops cached credentials at once),
    /// as the scheduler does.
    pub async fn run_jobs(
        &self,
        now: chrono::NaiveDateTime,
        mode: crate::jobs::Mode,
    ) -> anyhow::Result<Vec<crate::jobs::JobReport>> {
        crate::jobs::run_all_pooled(
            &self.pool,
            self.settings.clone(),
            now,
            Some(self.api.clone()),
            mode,
            crate::jobs::Trigger::Scheduler,
        )
        .await
    }

    /// Serves until the server is stopped (signal or handle), then stops the dispatcher after
    /// its current pass and writes the API usage still in memory.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let dispatcher = self
            .dispatcher_enabled
            .then(|| tokio::spawn(self.dispatcher.clone().run_until_stopped(stop_rx.clone())));
        let flusher = self.usage_flush.map(|every| {
            tokio::spawn(flush_usage_until_stopped(
                self.api.clone(),
                self.pool.clone(),
                every,
                stop_rx.clone(),
            ))
        });
        let scheduler = self.jobs_every.map(|every| {
            tokio::spawn(crate::jobs::schedule_until_stopped(
                self.pool.clone(),
                self.settings.clone(),
                self.clock.clone(),
                self.api.clone(),
                every,
                stop_rx.clone(),
            ))
        });
        // Stopping any server (a signal stops them all) stops the others.
        let mut listener = self.listener;
        let servers: Vec<Server> = std::iter::once(self.server)
            .chain(self.api_server)
            .chain(self.metrics_server)
            .collect();
        let served = if servers.len() == 1 {
            servers.into_iter().next().expect("the pages' server").await
        } else {
            let handles: Vec<ServerHandle> = servers.iter().map(|s| s.handle()).collect();
            let tasks = servers.into_iter().map(tokio::spawn);
            let (first, _, others) = futures_util::future::select_all(tasks).await;
            for h in &handles {
                h.stop(true).await;
            }
            let mut served = first.map_err(std::io::Error::other).and_then(|r| r);
            for task in others {
                let r = task.await.map_err(std::io::Error::other).and_then(|r| r);
                served = served.and(r);
            }
            served
        };
        // Work started by the last requests finishes before the dispatcher stops.
        if tokio::time::timeout(SHUTDOWN_GRACE, self.background.idle())
            .await
            .is_err()
        {
            tracing::error!("background work did not finish within the shutdown grace");
        }
        let _ = stop_tx.send(true);
        if let Some(task) = dispatcher {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        if let Some(task) = scheduler {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        if let Some(task) = flusher {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        // The last counts, after every request has finished (bounded: a hung database must
        // not hang the shutdown).
        match tokio::time::timeout(SHUTDOWN_GRACE, self.api.flush(&self.pool)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error.cause_chain = ?e, "writing API usage at shutdown failed")
            }
            Err(_) => tracing::error!("writing API usage at shutdown timed out"),
        }
        if let Some(mut l) = listener.take() {
            let stopped = tokio::task::spawn_blocking(move || l.stop());
            if tokio::time::timeout(SHUTDOWN_GRACE, stopped).await.is_err() {
                tracing::error!("the change listener did not stop within the shutdown grace");
            }
        }
        served.context("the HTTP server failed")
    }
}

/// The nice value of the pages' worker threads when the API has workers of its own
/// (`PORTAL_API_ADDR`): under a CPU shortage the API's workers go first (docs/PERFORMANCE.md,
/// "Sign-in under a storm").
const PAGE_WORKER_NICE: i32 = 10;

/// The headers every answer carries (pages and API alike).
fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        .add(("Cache-Control", "no-store"));
    if hsts {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// With built-in TLS and `PORTAL_HTTP_REDIRECT_ADDR`, the plain-HTTP listener answers every
/// request with a 308 to the same path and query on the `https://` base URL, except the health
/// check (load balancers often probe over plain HTTP) and the API (403 `HTTPS required`).
/// Requests over TLS pass through.
async fn redirect_to_https<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.app_config().secure() || req.path() == "/healthz" {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    // API clients are not redirected: one that followed would keep sending its secret in the
    // clear on every first request. It is told to use HTTPS instead.
    if req.path().starts_with("/api/") {
        let res = actix_web::HttpResponse::Forbidden().json(serde_json::json!({
            "error": "HTTPS required",
            "url": state.settings.link(req.path()),
        }));
        return Ok(req.into_response(res).map_into_right_body());
    }
    let target = state.settings.link(
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    );
    let res = actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, target))
        .finish();
    Ok(req.into_response(res).map_into_right_body())
}

/// Writes API usage every `every` until stopped. A failed flush keeps its counts for the next.
async fn flush_usage_until_stopped(
    api: Arc<ApiRuntime>,
    pool: Pool,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let flushed = api.flush(&pool).await;
                api.metrics.usage_flushed(flushed.is_ok());
                if let Err(e) = flushed {
                    tracing::warn!(error.cause_chain = ?e, "writing API usage failed; will retry");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// While no ConCat admin exists: a fresh single-use setup link (older unused ones are removed).
async fn first_run_link(
    pool: &Pool,
    settings: &Settings,
    clock: &SharedClock,
) -> anyhow::Result<Option<String>> {
    let now = clock.now_naive();
    let token = db::transaction(pool, move |c| {
        if users::admin_exists(c)? {
            return Ok(None);
        }
        tokens::delete_unused_setup(c)?;
        let token = OneTimeToken::generate();
        tokens::insert(c, &token.digest(), TokenPurpose::Setup, None, now)?;
        Ok::<_, anyhow::Error>(Some(token))
    })
    .await?;
    Ok(token.map(|t| settings.link(&format!("/setup/{}", t.expose()))))
}

/// `PORTAL_SECRET_KEY`, or `<data_dir>/secret_key` (created on first start, mode 0600).
fn load_or_create_key(settings: &Settings) -> anyhow::Result<Key> {
    if let Some(k) = &settings.secret_key {
        return Ok(Key::from(k.bytes()));
    }
    let path = settings.data_dir.join("secret_key");
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            let key = Key::generate();
            file.write_all(hex::encode(key.master()).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut s = String::new();
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_string(&mut s))
                .with_context(|| format!("reading {}", path.display()))?;
            let perms = std::fs::metadata(&path)?.permissions();
            if perms.mode() & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("restricting {}", path.display()))?;
            }
            let key =
                SecretKey::parse_hex(&s).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(Key::from(key.bytes()))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating {}", path.display()))),
    }
}

fn rustls_config(tls: &TlsSettings) -> anyhow::Result<rustls::ServerConfig> {
    let cert_pem = std::fs::read(&tls.cert_path)
        .with_context(|| format!("PORTAL_TLS_CERT: reading {}", tls.cert_path.display()))?;
    let key_pem = std::fs::read(&tls.key_path)
        .with_context(|| format!("PORTAL_TLS_KEY: reading {}", tls.key_path.display()))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .context("PORTAL_TLS_CERT: not a PEM certificate chain")?;
    if certs.is_empty() {
        anyhow::bail!(
            "PORTAL_TLS_CERT: no certificate found in {}",
            tls.cert_path.display()
        );
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .context("PORTAL_TLS_KEY: not a PEM private key")?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "PORTAL_TLS_KEY: no private key found in {}",
                tls.key_path.display()
            )
        })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("PORTAL_TLS_CERT/PORTAL_TLS_KEY: the key does not match the certificate")?;
    Ok(config)
}
