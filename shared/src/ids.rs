//! Unguessable identifiers: session ids are capabilities, token ids key the denylist.

/// The operating system's random number generator failed: no identifier can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomUnavailable;

/// 128 bits from the operating system's CSPRNG as 32 lowercase hex characters.
pub fn random_id() -> Result<String, RandomUnavailable> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomUnavailable)?;
    Ok(hex(&bytes))
}

/// Lowercase hex, as Redis prints SHA-1s and as session ids are spelled.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_lowercase_hex_and_differ() {
        let first = random_id().unwrap();
        let second = random_id().unwrap();
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_ne!(first, second);
    }

    #[test]
    fn hex_is_lowercase_and_zero_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }
}
