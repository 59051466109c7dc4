//! The REST token check, done before anything else in a request.
//!
//! Upstash accepts the token as `Authorization: Bearer TOKEN` or as the `_token` query
//! parameter. The comparison takes the same time whatever bytes differ, so response timing
//! does not reveal how much of a guess was right.

use axum::http::{HeaderMap, header::AUTHORIZATION};

/// The configured token, kept as bytes for the comparison.
#[derive(Clone)]
pub(crate) struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub(crate) fn new(token: &str) -> Self {
        Self(token.as_bytes().to_vec())
    }

    /// True when the request's header or its `_token` query value is this token.
    pub(crate) fn admits(&self, headers: &HeaderMap, query_token: Option<&[u8]>) -> bool {
        let from_header = headers
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| bearer(value.as_bytes()))
            .any(|candidate| self.matches(candidate));
        // Evaluated whatever the header said, so the two paths take the same time.
        let from_query = query_token.is_some_and(|candidate| self.matches(candidate));
        from_header | from_query
    }

    /// Constant-time equality: every byte of the longer input is visited, and the length
    /// difference is folded into the result instead of returning early.
    fn matches(&self, candidate: &[u8]) -> bool {
        let expected = &self.0;
        let longest = expected.len().max(candidate.len());
        let mut diff = u64::from(expected.len() != candidate.len());
        for index in 0..longest {
            let left = expected.get(index).copied().unwrap_or(0);
            let right = candidate.get(index).copied().unwrap_or(0);
            diff |= u64::from(left ^ right);
        }
        // An empty configured token would admit everyone; `Server::start` refuses it, and
        // this keeps the check closed even if it were ever reached.
        diff == 0 && !expected.is_empty()
    }
}

/// The credential of a `Bearer` authorization value (scheme matched case-insensitively).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let credential = rest.trim_ascii_start();
    // The scheme must be followed by whitespace: `BearerTOKEN` is not a bearer credential.
    (credential.len() < rest.len() && !credential.is_empty()).then_some(credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn bearer_header_is_accepted() {
        let token = Token::new("secret");
        assert!(token.admits(&headers("Bearer secret"), None));
        assert!(token.admits(&headers("bearer   secret "), None));
    }

    #[test]
    fn query_token_is_accepted() {
        let token = Token::new("secret");
        assert!(token.admits(&HeaderMap::new(), Some(b"secret")));
        assert!(token.admits(&headers("Bearer wrong"), Some(b"secret")));
    }

    #[test]
    fn wrong_or_missing_credentials_are_refused() {
        let token = Token::new("secret");
        assert!(!token.admits(&HeaderMap::new(), None));
        assert!(!token.admits(&headers("Bearer secre"), None));
        assert!(!token.admits(&headers("Bearer secrets"), None));
        assert!(!token.admits(&headers("Bearersecret"), None));
        assert!(!token.admits(&headers("Basic secret"), None));
        assert!(!token.admits(&headers("secret"), None));
        assert!(!token.admits(&headers("Bearer "), None));
        assert!(!token.admits(&HeaderMap::new(), Some(b"")));
    }

    #[test]
    fn empty_token_admits_nobody() {
        let token = Token::new("");
        assert!(!token.admits(&HeaderMap::new(), Some(b"")));
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", Token::new("secret")).contains("secret"));
    }
}
