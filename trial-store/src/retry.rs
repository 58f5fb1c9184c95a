//! Retrying a store operation while the database is away: exponential backoff,
//! one message per failure on stderr (password redacted), and a final
//! [`StoreError::Unreachable`] after the policy's limit.

use crate::error::StoreError;
use std::time::{Duration, Instant};

/// How long and how often a lost database is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait.
    pub first_delay: Duration,
    /// The longest wait between tries.
    pub max_delay: Duration,
    /// Give up after the database has been unreachable this long.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            give_up_after: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The default, with `give_up_after` from `HWNAS_STORAGE_GIVE_UP_S` when set.
    pub fn from_env() -> Self {
        let mut p = RetryPolicy::default();
        if let Some(s) = std::env::var("HWNAS_STORAGE_GIVE_UP_S").ok().and_then(|v| v.parse::<f64>().ok())
            && s.is_finite()
            && s >= 0.0
        {
            p.give_up_after = Duration::from_secs_f64(s);
        }
        p
    }
}

/// Why one try failed.
pub(crate) enum Attempt {
    /// The connection is gone or the database is busy: try again.
    Transient(String),
    /// Anything else: report it.
    Fatal(StoreError),
}

/// Runs `op` until it succeeds, fails for good, or the database stayed away
/// longer than `policy.give_up_after`.
pub(crate) fn with_retry<T>(
    policy: &RetryPolicy,
    location: &str,
    mut op: impl FnMut() -> Result<T, Attempt>,
) -> Result<T, StoreError> {
    let start = Instant::now();
    let mut delay = policy.first_delay;
    let mut tries = 0usize;
    loop {
        match op() {
            Ok(v) => {
                if tries > 0 {
                    eprintln!("storage {location}: reachable again after {:.1} s", start.elapsed().as_secs_f64());
                }
                return Ok(v);
            }
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Transient(reason)) => {
                tries += 1;
                let waited = start.elapsed();
                if waited >= policy.give_up_after {
                    return Err(StoreError::Unreachable {
                        location: location.to_string(),
                        seconds: waited.as_secs_f64(),
                        reason,
                    });
                }
                eprintln!(
                    "storage {location} unreachable ({reason}); retrying in {:.1} s (try {tries}, giving up after {:.0} s)",
                    delay.as_secs_f64(),
                    policy.give_up_after.as_secs_f64()
                );
                std::thread::sleep(delay);
                delay = (delay * 2).min(policy.max_delay);
            }
        }
    }
}
