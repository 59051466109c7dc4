//! Denials this instance has seen, answered again without Redis until they expire.
//!
//! A client hammering a limit would otherwise cost a Redis round trip per rejected request;
//! the denial is known to hold until its retry time, so the instance answers it from memory.
//! It only ever says "no" for longer than Redis would by the skew of this clock, never "yes";
//! a reset through this instance forgets the denial at once (other instances keep theirs until
//! its retry time, at most one limiter interval).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounds memory under an attack from many addresses; expired entries go first.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct DenialCache {
    until: Mutex<HashMap<String, Denial>>,
}

/// When a denial ends (one more request is allowed), and when the whole allowance is back:
/// the headers of a remembered denial say the same as Redis's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub retry_at: Instant,
    pub reset_at: Instant,
}

/// What is left of a remembered denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub retry: Duration,
    pub reset: Duration,
}

impl DenialCache {
    /// The time left on a remembered denial of `key`, if any.
    pub fn remaining(&self, key: &str, now: Instant) -> Option<Left> {
        let entries = self.until.lock().ok()?;
        let denial = entries.get(key)?;
        let retry = denial
            .retry_at
            .checked_duration_since(now)
            .filter(|left| !left.is_zero())?;
        let reset = denial.reset_at.saturating_duration_since(now).max(retry);
        Some(Left { retry, reset })
    }

    pub fn remember(&self, key: String, denial: Denial) {
        let Ok(mut entries) = self.until.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, denial| denial.retry_at > now);
            if entries.len() >= MAX_ENTRIES {
                // Still full of live denials: forgetting one only costs a Redis call later.
                if let Some(oldest) = entries.iter().min_by_key(|(_, denial)| denial.retry_at) {
                    let oldest = oldest.0.clone();
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, denial);
    }

    pub fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.until.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denial(now: Instant, retry: u64, reset: u64) -> Denial {
        Denial {
            retry_at: now + Duration::from_secs(retry),
            reset_at: now + Duration::from_secs(reset),
        }
    }

    #[test]
    fn remembers_until_the_retry_time_then_forgets() {
        let cache = DenialCache::default();
        let now = Instant::now();
        cache.remember("api:1.2.3.4".into(), denial(now, 5, 900));
        assert_eq!(
            cache.remaining("api:1.2.3.4", now),
            Some(Left {
                retry: Duration::from_secs(5),
                reset: Duration::from_secs(900)
            })
        );
        assert_eq!(cache.remaining("api:5.6.7.8", now), None);
        assert_eq!(
            cache.remaining("api:1.2.3.4", now + Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn forgets_on_demand() {
        let cache = DenialCache::default();
        let now = Instant::now();
        cache.remember("api:1.2.3.4".into(), denial(now, 5, 5));
        cache.forget("api:1.2.3.4");
        assert_eq!(cache.remaining("api:1.2.3.4", now), None);
    }

    #[test]
    fn stays_bounded() {
        let cache = DenialCache::default();
        let now = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            cache.remember(format!("api:{i}"), denial(now, 60, 60));
        }
        assert!(cache.until.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
