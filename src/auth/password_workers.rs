//! Password hashing on a fixed set of threads. An argon2id hash needs 19 MiB of working memory;
//! run on tokio's blocking pool, every login took a thread of its own and left its block with
//! that thread's malloc arena, so 300 logins took the server from 56 MiB to about 1 GiB and kept
//! it. Here a few threads (one per core) each keep one block and reuse it while logins queue up,
//! and give it back when the queue is empty; the queue in front of them is bounded: a login that
//! finds it full is refused at once as overloaded instead of waiting without limit.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    mpsc, Arc, Mutex,
};

use argon2::Block;
use zeroize::Zeroizing;

use crate::auth::password;

/// Every worker is busy and the queue is full; try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password checks are overloaded; try again in a moment")]
pub struct Overloaded;

enum Work {
    Verify {
        password: Zeroizing<String>,
        stored: String,
        answer: tokio::sync::oneshot::Sender<bool>,
    },
    Hash {
        password: Zeroizing<String>,
        answer: tokio::sync::oneshot::Sender<anyhow::Result<String>>,
    },
}

pub struct PasswordWorkers {
    queue: mpsc::SyncSender<Work>,
    /// Jobs submitted and not yet started.
    waiting: Arc<AtomicUsize>,
}

impl PasswordWorkers {
    /// Starts `threads` workers behind a queue of `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize) -> Self {
        let (sender, receiver) = mpsc::sync_channel::<Work>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let waiting = Arc::new(AtomicUsize::new(0));
        for index in 0..threads.max(1) {
            let (receiver, waiting) = (receiver.clone(), waiting.clone());
            std::thread::Builder::new()
                .name(format!("password-{index}"))
                .spawn(move || work(&receiver, &waiting))
                .expect("the OS starts a password thread");
        }
        Self {
            queue: sender,
            waiting,
        }
    }

    /// One worker per core, and a queue that waits at most about a second at ~50 ms a hash.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::start(cores, 16 * cores)
    }

    /// Whether `password` matches the stored hash.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, Overloaded> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let password = Zeroizing::new(password);
        self.submit(Work::Verify {
            password,
            stored,
            answer,
        })?;
        // A worker that panicked drops the answer: no match.
        Ok(answered.await.unwrap_or(false))
    }

    /// A new argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let password = Zeroizing::new(password);
        self.submit(Work::Hash { password, answer })?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the password worker stopped"))?
    }

    fn submit(&self, work: Work) -> Result<(), Overloaded> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.queue.try_send(work).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            Overloaded
        })
    }
}

fn work(receiver: &Mutex<mpsc::Receiver<Work>>, waiting: &AtomicUsize) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(work) = next else { return };
        waiting.fetch_sub(1, Ordering::SeqCst);
        match work {
            Work::Verify {
                password,
                stored,
                answer,
            } => {
                // A caller that went away (timed out) no longer needs the answer.
                if !answer.is_closed() {
                    let _ = answer.send(password::verify_with(&password, &stored, &mut memory));
                }
            }
            Work::Hash { password, answer } => {
                let _ = answer.send(password::hash_with(&password, &mut memory));
            }
        }
        // Nothing queued: give the block back rather than keep 19 MiB per thread while idle.
        if waiting.load(Ordering::SeqCst) == 0 {
            memory = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_a_full_queue_is_refused_at_once() {
        let workers = PasswordWorkers::start(1, 1);
        let stored = workers.hash("a long passphrase".into()).await.unwrap();
        assert!(workers
            .verify("a long passphrase".into(), stored.clone())
            .await
            .unwrap());
        assert!(!workers
            .verify("a wrong passphrase".into(), stored.clone())
            .await
            .unwrap());
        // One hashing, one waiting: the third finds the queue full.
        let results = futures_util::future::join_all(
            (0..6).map(|_| workers.verify("a long passphrase".into(), stored.clone())),
        )
        .await;
        assert!(results.contains(&Err(Overloaded)), "{results:?}");
        assert!(results.contains(&Ok(true)), "{results:?}");
    }
}
