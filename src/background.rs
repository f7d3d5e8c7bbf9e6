//! Work a handler starts after it has answered: the response must not wait for it (its timing
//! would tell the client something), but shutdown and tests can wait until it is done.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use tracing::Instrument;

#[derive(Clone)]
pub struct Background {
    inner: Arc<Inner>,
    /// The application's own runtime: an HTTP worker's runtime stops with the server, and
    /// would drop work it still holds.
    runtime: tokio::runtime::Handle,
}

#[derive(Default)]
struct Inner {
    running: AtomicUsize,
    idle: Notify,
}

/// Counts one piece of work as running until dropped (finished, failed or cancelled).
struct Running(Arc<Inner>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Work will run on `runtime` (the one `Application::build` runs on).
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        Self {
            inner: Arc::default(),
            runtime,
        }
    }

    /// Runs `work` on the application's runtime, in the caller's span; a failure is logged with
    /// its cause chain under `what`.
    pub fn spawn<F>(&self, what: &'static str, work: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        let running = Running(self.inner.clone());
        self.runtime.spawn(
            async move {
                let _running = running;
                if let Err(e) = work.await {
                    tracing::error!(error.cause_chain = ?e, "{what} failed");
                }
            }
            .instrument(tracing::Span::current()),
        );
    }

    /// Resolves once no background work is running.
    pub async fn idle(&self) {
        loop {
            // Registered before the check, so a completion in between is not missed.
            let done = self.inner.idle.notified();
            if self.inner.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            done.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_every_task() {
        let bg = Background::new(tokio::runtime::Handle::current());
        bg.idle().await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        bg.spawn("test work", async move {
            let _ = rx.await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let waiting = tokio::spawn({
            let bg = bg.clone();
            async move { bg.idle().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        tx.send(()).unwrap();
        waiting.await.unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 1);

        // Work that is dropped unfinished (its runtime shut down) is no longer waited for.
        let other = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bg = Background::new(other.handle().clone());
        bg.spawn("never polled", std::future::pending());
        other.shutdown_background();
        tokio::time::timeout(std::time::Duration::from_secs(5), bg.idle())
            .await
            .expect("a dropped task counts as finished");
    }
}
