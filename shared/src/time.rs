//! Timestamps as the API shows them (ISO 8601 UTC) and as Redis stores them (epoch ms).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, by this instance's clock (NTP-synced on Lambda).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Seconds since the Unix epoch, as JWT claims count time.
pub fn now_seconds() -> u64 {
    now_ms() / 1000
}

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LAST_RFC3339_MS: u64 = 253_402_300_799_999;

/// `2026-11-22T02:20:00.000Z`. A time past year 9999, which RFC 3339 cannot write, is
/// shown as its last millisecond rather than failing a response.
pub fn iso8601(epoch_ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(epoch_ms.min(LAST_RFC3339_MS));
    humantime::format_rfc3339_millis(time).to_string()
}

/// `2026-11-22`: the UTC day, as per-day counters name it.
pub fn utc_day(epoch_ms: u64) -> String {
    iso8601(epoch_ms)[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds_and_days() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_795_314_000_123), "2026-11-22T02:20:00.123Z");
        assert_eq!(utc_day(1_795_314_000_123), "2026-11-22");
        assert_eq!(iso8601(LAST_RFC3339_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(iso8601(u64::MAX), "9999-12-31T23:59:59.999Z");
        // The last millisecond of a day still belongs to it.
        assert_eq!(utc_day(1_795_305_600_000 - 1), "2026-11-21");
    }
}
