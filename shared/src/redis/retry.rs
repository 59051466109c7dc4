//! When and how long to wait before sending a request again.

use std::time::Duration;

/// First backoff ceiling; doubles each attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(200);
/// An idempotent attempt gets half the time left, so a hung request leaves room for another
/// try inside the deadline; below this much time it simply gets all that is left.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// What one failed attempt says about trying again (`docs/contract.md`, "Failure policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never left: a refused or failed connection. Always safe to resend.
    NotSent,
    /// The request may have reached Redis (timeout, broken response, 5xx): resending is safe
    /// only when running it twice equals running it once.
    MaybeApplied,
    /// Sending again cannot help: a rejected token, an answer outside the protocol.
    Final,
}

pub(crate) fn may_retry(failure: Failure, idempotent: bool) -> bool {
    match failure {
        Failure::NotSent => true,
        Failure::MaybeApplied => idempotent,
        Failure::Final => false,
    }
}

/// How long one attempt may take. A request that must not be resent gets everything left;
/// one that may be resent gets half, keeping time for a retry if the first one hangs.
pub(crate) fn attempt_timeout(remaining: Duration, idempotent: bool) -> Duration {
    if !idempotent || remaining <= MIN_ATTEMPT * 2 {
        remaining
    } else {
        remaining / 2
    }
}

/// Full-jitter exponential backoff: a random wait in `[0, min(MAX, BASE * 2^attempt)]`, so
/// instances that failed together do not retry together.
pub(crate) fn backoff(attempt: u32, random: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let fraction = f64::from(random) / f64::from(u32::MAX);
    ceiling.mul_f64(fraction)
}

/// A random `u32` from the process's CSPRNG; a failure (never seen in practice) means no wait.
pub(crate) fn jitter() -> u32 {
    let mut bytes = [0u8; 4];
    aws_lc_rs::rand::fill(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unsent_requests_are_resent_when_not_idempotent() {
        assert!(may_retry(Failure::NotSent, false));
        assert!(!may_retry(Failure::MaybeApplied, false));
        assert!(may_retry(Failure::MaybeApplied, true));
        assert!(!may_retry(Failure::Final, true));
    }

    #[test]
    fn idempotent_attempts_leave_room_for_a_retry() {
        let second = Duration::from_secs(1);
        assert_eq!(attempt_timeout(second, false), second);
        assert_eq!(attempt_timeout(second, true), second / 2);
        let little = Duration::from_millis(80);
        assert_eq!(attempt_timeout(little, true), little);
    }

    #[test]
    fn backoff_grows_then_caps_and_never_exceeds_its_ceiling() {
        assert_eq!(backoff(0, u32::MAX), BASE_BACKOFF);
        assert_eq!(backoff(1, u32::MAX), BASE_BACKOFF * 2);
        assert_eq!(backoff(30, u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(3, 0), Duration::ZERO);
        assert!(backoff(3, u32::MAX / 2) < BASE_BACKOFF * 8);
    }
}
