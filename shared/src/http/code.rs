//! Every `code` a failure answer can carry, with the status it always comes with. Clients
//! switch on these, so they are one enum: `tests/routes.rs` checks it against `openapi.yaml`.

use http::StatusCode;

/// A stable snake_case code for programs (`docs/contract.md`, "Envelope").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidBody,
    InvalidField,
    InvalidSessionId,
    SessionNotFound,
    NotFound,
    AlreadySubmitted,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    InvalidRefreshToken,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::InvalidBody,
        ErrorCode::InvalidField,
        ErrorCode::InvalidSessionId,
        ErrorCode::SessionNotFound,
        ErrorCode::NotFound,
        ErrorCode::AlreadySubmitted,
        ErrorCode::EmailTaken,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::ServiceUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::InvalidSessionId => "invalid_session_id",
            ErrorCode::SessionNotFound => "session_not_found",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadySubmitted => "already_submitted",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The one status a code is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidBody | ErrorCode::InvalidField | ErrorCode::InvalidSessionId => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            ErrorCode::SessionNotFound | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadySubmitted | ErrorCode::EmailTaken => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
