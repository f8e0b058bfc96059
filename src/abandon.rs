//! Cleaning up after a job whose caller went away. An HTTP handler is dropped at whatever `.await`
//! it was waiting on when its client disconnects or its request times out; a job that had already
//! recorded something half done (a quota batch still `validating`, a reconciliation run still
//! `running`) would be left so forever. [`Abandon`] holds the clean-up and runs it on a task of
//! its own if it is dropped before the job finished.

use std::{future::Future, pin::Pin};

type Cleanup = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs its clean-up when dropped, unless [`Abandon::finished`] or [`Abandon::now`] was called.
#[must_use = "dropping it at once runs the clean-up"]
pub struct Abandon {
    cleanup: Option<Cleanup>,
}

impl Abandon {
    pub fn new(cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            cleanup: Some(Box::pin(cleanup)),
        }
    }

    /// The job finished: nothing to clean up.
    pub fn finished(mut self) {
        self.cleanup = None;
    }

    /// The job failed and its caller is still there: clean up before answering, so the answer
    /// can say nothing was left behind.
    pub async fn now(mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.await;
        }
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        // Dropped outside a runtime (a process shutting down): the sweep of stale jobs at the
        // next upload catches what is left.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(cleanup);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use super::*;

    fn counting(count: &Arc<AtomicUsize>) -> Abandon {
        let count = count.clone();
        Abandon::new(async move {
            count.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[tokio::test]
    async fn a_dropped_job_is_cleaned_up_and_a_finished_one_is_not() {
        let count = Arc::new(AtomicUsize::new(0));
        counting(&count).finished();
        counting(&count).now().await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let job = tokio::spawn({
            let guard = counting(&count);
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }
        });
        tokio::task::yield_now().await;
        job.abort();
        let _ = job.await;
        for _ in 0..100 {
            if count.load(Ordering::SeqCst) == 2 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the aborted job's clean-up did not run");
    }
}
