//! What registration and login accept, checked before any Redis call or hashing.

use serde_json::{Map, Value};

use crate::http::ApiError;
use crate::http::request::{invalid_field, string_field};

pub const EMAIL_MAX_CHARS: usize = 254;
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// `email`, trimmed and lowercased so `Ann@Example.com ` and `ann@example.com` are one
/// account: at most 254 characters, one `@` with something on each side, no spaces.
pub fn email(body: &Map<String, Value>) -> Result<String, ApiError> {
    let email = string_field(body, "email")?.trim().to_lowercase();
    let valid = email.chars().count() <= EMAIL_MAX_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(
            email.split('@').collect::<Vec<_>>()[..],
            [local, domain] if !local.is_empty() && !domain.is_empty()
        );
    if valid {
        Ok(email)
    } else {
        Err(invalid_field(
            "email",
            "email must be an address like name@example.com".to_owned(),
        ))
    }
}

/// A new password: 8 to 128 characters (argon2 cost grows with length; 128 is plenty).
pub fn new_password(body: &Map<String, Value>) -> Result<&str, ApiError> {
    let password = string_field(body, "password")?;
    let chars = password.chars().count();
    if (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        Ok(password)
    } else {
        Err(invalid_field(
            "password",
            format!("password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        let email = email(&body(json!({"email": "  Ann.Lee@Example.COM "}))).unwrap();
        assert_eq!(email, "ann.lee@example.com");
    }

    #[test]
    fn emails_need_one_at_with_both_sides_and_at_most_254_chars() {
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(long.len(), 255);
        for bad in [
            json!("no-at-sign"),
            json!("two@@example.com"),
            json!("a@b@c"),
            json!("@example.com"),
            json!("ann@"),
            json!("ann lee@example.com"),
            json!(""),
            json!(long),
            json!(42),
        ] {
            let error = email(&body(json!({ "email": bad }))).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{bad}");
            assert_eq!(error.extra["field"], json!("email"));
        }
        let longest = format!("{}@example.com", "a".repeat(242));
        assert!(email(&body(json!({ "email": longest }))).is_ok());
        assert!(email(&body(json!({}))).is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        for ok in ["12345678", &"é".repeat(128)] {
            assert!(new_password(&body(json!({ "password": ok }))).is_ok());
        }
        for bad in [
            json!("1234567"),
            json!("x".repeat(129)),
            json!(null),
            json!(12345678),
        ] {
            let error = new_password(&body(json!({ "password": bad }))).unwrap_err();
            assert_eq!(error.extra["field"], json!("password"), "{bad}");
        }
    }
}
