//! Work a handler starts after it has answered: the response must not wait for it (its timing
//! would tell the client something), but shutdown and tests can wait until it is done.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use tracing::Instrument;

#[derive(Clone, Default)]
pub struct Background {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    running: AtomicUsize,
    idle: Notify,
}

impl Background {
    /// Runs `work` on the runtime, in the caller's span; a failure is logged with its cause
    /// chain under `what`.
    pub fn spawn<F>(&self, what: &'static str, work: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.clone();
        tokio::spawn(
            async move {
                if let Err(e) = work.await {
                    tracing::error!(error.cause_chain = ?e, "{what} failed");
                }
                if inner.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                    inner.idle.notify_waiters();
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
        let bg = Background::default();
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
    }
}
