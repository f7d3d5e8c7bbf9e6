//! argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1). Hashing and verification run on
//! the blocking pool; unknown users are verified against a dummy hash so that timing does not
//! reveal which emails have accounts.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::{NewPassword, PasswordInput};

fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// A hash of a random password with the production parameters, computed once.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
        .expect("hashing the dummy password")
        .to_string()
});

pub fn hash_now(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// Verifies `candidate` against `stored` (or the dummy hash when there is no stored hash).
pub fn verify_now(stored: Option<&str>, candidate: &PasswordInput) -> bool {
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY_HASH.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = hasher()
        .verify_password(candidate.expose().as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// Every argon2 computation of the serving process goes through one `PasswordHasher`: a fixed
/// set of worker threads (`PORTAL_PASSWORD_HASH_CONCURRENCY`, default: the number of cores) fed
/// by a short bounded queue (eight jobs per worker, at least 32). A job that finds the queue full is refused at
/// once with [`HashError::Busy`] (a 503 page with `Retry-After`), so neither the memory argon2
/// takes (19 MiB per running hash) nor the number of waiting requests grows with the load.
///
/// The workers run under Linux's `SCHED_IDLE` policy: when the machine is busy, the API and the
/// pages keep the CPU and sign-ins wait (and, past the queue, are refused) instead.
pub struct PasswordHasher {
    jobs: std::sync::mpsc::SyncSender<Job>,
    workers: usize,
    queue: usize,
    /// A job that waited longer than this for a worker is answered `Busy` instead of run
    /// (under a load that leaves `SCHED_IDLE` workers no CPU, a sign-in gets its 503 in
    /// bounded time rather than waiting for as long as the load lasts).
    max_wait: std::time::Duration,
    computed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Jobs accepted and not yet taken by a worker.
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every worker is busy and the queue is full.
    #[error("too many password checks at once")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Seconds a refused client is asked to wait before trying again.
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

/// How long a hashing job may wait in the queue for a worker (see `PasswordHasher::max_wait`).
pub const MAX_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl PasswordHasher {
    pub fn new(workers: usize) -> anyhow::Result<Self> {
        Self::with_max_wait(workers, MAX_QUEUE_WAIT)
    }

    pub fn with_max_wait(workers: usize, max_wait: std::time::Duration) -> anyhow::Result<Self> {
        return_large_blocks_to_the_os();
        let workers = workers.max(1);
        // Enough for a burst of legitimate sign-ins (a few hundred ms of work), small enough
        // that waiting requests cost next to nothing.
        let queue = (workers * 8).max(32);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let next = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        let Ok(job) = next else { break };
                        // A panicking job must not take the worker with it; its caller sees
                        // the dropped result channel as an error.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .context("starting a password hashing worker")?;
        }
        Ok(Self {
            jobs: tx,
            workers,
            queue,
            max_wait,
            computed: Default::default(),
            queued: Default::default(),
        })
    }

    /// How many hashes (and verifications) this hasher has computed: an operational figure,
    /// and what tests use to tell that a request did no argon2 work.
    pub fn computed(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a job submitted now would probably be accepted (a hint for skipping work that
    /// only matters if the hash can run; `submit` decides).
    pub fn has_room(&self) -> bool {
        self.queued.load(std::sync::atomic::Ordering::Relaxed) < self.queue
    }

    /// (workers, queue length)
    pub fn capacity(&self) -> (usize, usize) {
        (self.workers, self.queue)
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, HashError>>, HashError> {
        use std::sync::atomic::Ordering;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.queued.clone();
        queued.fetch_add(1, Ordering::SeqCst);
        let (submitted, max_wait) = (std::time::Instant::now(), self.max_wait);
        let job = Box::new(move || {
            queued.fetch_sub(1, Ordering::SeqCst);
            // Nobody waits for the answer any more (the client went away): skip the work.
            if tx.is_closed() {
                return;
            }
            if submitted.elapsed() > max_wait {
                let _ = tx.send(Err(HashError::Busy));
                return;
            }
            let _ = tx.send(Ok(f()));
        });
        if let Err(e) = self.jobs.try_send(job) {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(match e {
                std::sync::mpsc::TrySendError::Full(_) => HashError::Busy,
                std::sync::mpsc::TrySendError::Disconnected(_) => {
                    HashError::Failed(anyhow::anyhow!("the password hashing workers stopped"))
                }
            });
        }
        Ok(rx)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.submit(f)?
            .await
            .map_err(|_| HashError::Failed(anyhow::anyhow!("a password hashing job failed")))?
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, HashError> {
        let computed = self.computed.clone();
        self.run(move || {
            computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            hash_now(&password)
        })
        .await?
        .map_err(HashError::Failed)
    }

    /// Checks `candidate` against `stored` (the dummy hash when `None`, so that an unknown
    /// account costs the same as a known one).
    pub async fn verify(
        &self,
        stored: Option<String>,
        candidate: PasswordInput,
    ) -> Result<bool, HashError> {
        let computed = self.computed.clone();
        self.run(move || {
            computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            verify_now(stored.as_deref(), &candidate)
        })
        .await
    }
}

/// glibc raises its mmap threshold to the size of the largest block freed (up to 32 MiB), so
/// after the first hash each 19 MiB argon2 block comes from a heap arena and stays there:
/// measured under a sign-in storm, ~190 MiB per hashing worker. A fixed 1 MiB threshold maps
/// every large block afresh and returns it at once (peak 80 MiB with two workers; a few
/// thousand page faults per hash). Process-wide and idempotent.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_os() {
    // SAFETY: mallopt only changes allocator parameters; it is thread-safe in glibc.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_os() {}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SCHED_IDLE: the worker runs when the CPU has nothing else to do, so a wave of sign-ins
    // never delays API requests or pages (they preempt it at once); under a saturating load
    // sign-ins wait in the queue and, past it, get the 503. Per thread on Linux (pid 0 is the
    // calling thread). If the policy cannot be set, the lowest nice value is the fallback.
    // SAFETY: plain syscalls on the calling thread, with a valid `sched_param`.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Forces the dummy hash to be computed (at start-up, not on the first login).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let hasher = PasswordHasher::new(1).unwrap();
        let (workers, queue) = hasher.capacity();
        assert_eq!((workers, queue), (1, 32));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = std::sync::Arc::new(std::sync::Mutex::new(gate));
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let job = |n: u32| {
            let (gate, started_tx) = (gate.clone(), started_tx.clone());
            move || {
                let _ = started_tx.send(());
                let _ = gate.lock().unwrap().recv();
                n
            }
        };
        // One job running (the worker took it off the queue), `queue` waiting: the next is
        // refused at once rather than queued.
        let mut receivers = vec![hasher.submit(job(0)).unwrap()];
        started.recv().unwrap();
        for n in 1..=queue as u32 {
            receivers.push(hasher.submit(job(n)).unwrap());
        }
        assert!(!hasher.has_room());
        assert!(matches!(hasher.submit(job(99)), Err(HashError::Busy)));
        for _ in 0..=queue {
            release.send(()).unwrap();
        }
        let mut done = Vec::new();
        for rx in receivers {
            done.push(rx.await.unwrap().unwrap());
        }
        assert_eq!(done, (0..=queue as u32).collect::<Vec<_>>());
        // With room again, work is accepted.
        assert!(hasher.has_room());
        release.send(()).unwrap();
        assert_eq!(hasher.run(job(100)).await.unwrap(), 100);
    }

    #[tokio::test]
    async fn a_job_that_waited_too_long_is_refused_not_run() {
        let hasher =
            PasswordHasher::with_max_wait(1, std::time::Duration::from_millis(50)).unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let busy = hasher
            .submit(move || {
                let _ = started_tx.send(());
                let _ = gate.recv();
            })
            .unwrap();
        started.recv().unwrap();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = ran.clone();
        let waiting = hasher
            .submit(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(80));
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        assert!(matches!(waiting.await.unwrap(), Err(HashError::Busy)));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        // A job that finds a free worker runs.
        assert!(hasher.run(|| 7).await.unwrap() == 7);
    }

    #[test]
    fn hash_and_verify() {
        let p = NewPassword::parse("a long and unusual passphrase").unwrap();
        let h = hash_now(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_now(
            Some(&h),
            &PasswordInput::new("a long and unusual passphrase".into())
        ));
        assert!(!verify_now(
            Some(&h),
            &PasswordInput::new("a long and unusual passphrasE".into())
        ));
        assert!(!verify_now(None, &PasswordInput::new("anything".into())));
    }
}
