//! The bounded pool that slow (RSA) key generation runs on, so that `POST /keypair/` cannot
//! take the request threads or every core from encryption traffic.

use crate::http::error::HttpError as Error;
use crate::keys::keypair::{Algorithm, KeygenFailed, Keypair, generate};

/// How many key pairs may wait for a slot, per slot, before more are refused with 503.
const QUEUE_PER_SLOT: usize = 4;

/// Runs slow (RSA) generations on the blocking thread pool, at most `slots` at a time, so key
/// generation cannot take the request threads or all the cores from encryption traffic. A
/// bounded number wait their turn; beyond that, requests are refused at once.
#[derive(Clone, Debug)]
pub struct KeygenLimiter {
    running: std::sync::Arc<tokio::sync::Semaphore>,
    admitted: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for KeygenLimiter {
    fn default() -> Self {
        Self::new(Self::default_slots())
    }
}

impl KeygenLimiter {
    /// At most `slots` slow generations at once, and `4 × slots` more waiting.
    #[must_use]
    pub fn new(slots: std::num::NonZeroUsize) -> Self {
        let slots = slots.get();
        Self {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
            admitted: std::sync::Arc::new(tokio::sync::Semaphore::new(
                slots.saturating_mul(QUEUE_PER_SLOT + 1),
            )),
        }
    }

    /// The server's default: half the CPU cores, at least one, so RSA generation never holds
    /// every core.
    #[must_use]
    pub fn default_slots() -> std::num::NonZeroUsize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        std::num::NonZeroUsize::new(cores / 2).unwrap_or(std::num::NonZeroUsize::MIN)
    }

    /// Generates a key pair: fast algorithms right here, slow ones on the blocking pool once
    /// a slot is free.
    ///
    /// # Errors
    ///
    /// [`Error::KeygenBusy`] when every slot and queue place is taken.
    pub async fn generate(&self, algorithm: Algorithm) -> Result<Keypair, Error> {
        if !algorithm.is_slow() {
            return Ok(generate(algorithm)?);
        }
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::KeygenBusy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::KeygenBusy)?;
        // The permits travel with the work: a client that hangs up does not free the slot
        // while its generation still runs.
        let generated = actix_web::web::block(move || {
            let _permits = (admitted, running);
            generate(algorithm)
        })
        .await;
        // A panic on the blocking pool is the library failing, like a generation error.
        Ok(generated.unwrap_or(Err(KeygenFailed(algorithm)))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::keypair::tests::assert_pair_matches;

    #[tokio::test]
    async fn slow_generations_beyond_the_queue_are_refused_at_once() {
        let limiter = KeygenLimiter::new(std::num::NonZeroUsize::MIN);
        // One slot and four queue places: the sixth is refused while the others still wait.
        // Each RSA-4096 generation takes far longer than polling six futures once.
        let attempts = (0..6).map(|_| limiter.generate(Algorithm::Rsa4096));
        let results = futures_util::future::join_all(attempts).await;
        let busy = results
            .iter()
            .filter(|result| matches!(result, Err(Error::KeygenBusy)))
            .count();
        assert_eq!(busy, 1);
        for pair in results.into_iter().flatten() {
            assert_pair_matches(&pair);
        }
        // Fast algorithms never queue.
        assert!(limiter.generate(Algorithm::X25519).await.is_ok());
    }
}
