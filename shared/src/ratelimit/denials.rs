//! Denials this instance has seen, answered again without Redis until they expire.
//!
//! A client hammering a limit would otherwise cost a Redis round trip per rejected request;
//! the denial is known to hold until its retry time, so the instance answers it from memory.
//! It only ever says "no" for longer than Redis would by the skew of this clock, never "yes".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounds memory under an attack from many addresses; expired entries go first.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct DenialCache {
    until: Mutex<HashMap<String, Instant>>,
}

impl DenialCache {
    /// The time left on a remembered denial of `key`, if any.
    pub fn remaining(&self, key: &str, now: Instant) -> Option<Duration> {
        let until = self.until.lock().ok()?;
        until
            .get(key)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    pub fn remember(&self, key: String, until: Instant) {
        let Ok(mut entries) = self.until.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, until| *until > now);
            if entries.len() >= MAX_ENTRIES {
                // Still full of live denials: forgetting one only costs a Redis call later.
                if let Some(oldest) = entries.iter().min_by_key(|(_, until)| **until) {
                    let oldest = oldest.0.clone();
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_deadline_then_forgets() {
        let cache = DenialCache::default();
        let now = Instant::now();
        cache.remember("api:1.2.3.4".into(), now + Duration::from_secs(5));
        assert_eq!(
            cache.remaining("api:1.2.3.4", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(cache.remaining("api:5.6.7.8", now), None);
        assert_eq!(
            cache.remaining("api:1.2.3.4", now + Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn stays_bounded() {
        let cache = DenialCache::default();
        let until = Instant::now() + Duration::from_secs(60);
        for i in 0..MAX_ENTRIES + 10 {
            cache.remember(format!("api:{i}"), until);
        }
        assert!(cache.until.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
