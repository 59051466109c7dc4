//! The requests of the load, built from the sample events in `events/` as API Gateway would
//! deliver them, each from a client address the caller picks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use testkit::events::{event, with_bearer, with_body, with_session_id, with_source_ip};

use crate::fleet::{Call, Function};

pub const PASSWORD: &str = "correct horse battery staple";
const WRONG_PASSWORD: &str = "not the password at all";

/// The sample events the load sends, read once.
const TEMPLATES: [&str; 14] = [
    "health",
    "session-create",
    "session-create-not-json",
    "session-get",
    "session-get-invalid-id",
    "session-submit",
    "auth-register",
    "auth-register-invalid-email",
    "auth-login",
    "auth-logout",
    "auth-logout-all-devices",
    "auth-me",
    "auth-me-no-token",
    "authorizer",
];

/// Builds calls, and hands out fresh client addresses, emails and session ids.
pub struct Calls {
    templates: HashMap<&'static str, Value>,
    serial: AtomicU64,
}

impl Calls {
    pub fn new() -> Calls {
        Calls {
            templates: TEMPLATES.iter().map(|name| (*name, event(name))).collect(),
            serial: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// An address no request has come from yet (10.0.0.0/8 holds 16 million): each
    /// journey of the mix uses its own, so the per-IP limits never refuse the mix.
    pub fn fresh_ip(&self) -> String {
        let n = self.fresh();
        format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
    }

    pub fn fresh_email(&self) -> String {
        format!("load-{}@example.com", self.fresh())
    }

    /// A well-formed session id that no session has.
    pub fn unknown_session(&self) -> String {
        format!("0bad{:028x}", self.fresh())
    }

    fn call(&self, function: Function, template: &str, ip: &str, expect: &'static [u16]) -> Call {
        Call {
            function,
            event: with_source_ip(self.templates[template].clone(), ip),
            expect,
        }
    }

    pub fn health(&self, ip: &str) -> Call {
        self.call(Function::Health, "health", ip, &[200])
    }

    pub fn create(&self, ip: &str) -> Call {
        self.create_expecting(ip, &[201])
    }

    /// A create that may also be refused (a limit check).
    pub fn create_expecting(&self, ip: &str, expect: &'static [u16]) -> Call {
        self.call(Function::SessionCreate, "session-create", ip, expect)
    }

    /// A form-encoded body sent as JSON: 400 `invalid_body`.
    pub fn create_not_json(&self, ip: &str) -> Call {
        self.call(
            Function::SessionCreate,
            "session-create-not-json",
            ip,
            &[400],
        )
    }

    pub fn poll(&self, ip: &str, id: &str, expect: &'static [u16]) -> Call {
        self.call(Function::SessionGet, "session-get", ip, expect)
            .with(|event| with_session_id(event, id))
    }

    /// A path that is no session id: 400 `invalid_session_id`.
    pub fn poll_invalid_id(&self, ip: &str) -> Call {
        self.call(Function::SessionGet, "session-get-invalid-id", ip, &[400])
    }

    /// The sample's signature, a 1×1 PNG.
    pub fn submit(&self, ip: &str, id: &str, expect: &'static [u16]) -> Call {
        self.call(Function::SessionSubmit, "session-submit", ip, expect)
            .with(|event| with_session_id(event, id))
    }

    /// A submit whose signature is told apart from others' by `tag`.
    pub fn submit_tagged(&self, ip: &str, id: &str, tag: u32, expect: &'static [u16]) -> Call {
        let body = json!({"signatureData": tagged_signature(tag)}).to_string();
        self.submit(ip, id, expect)
            .with(|event| with_body(event, &body))
    }

    pub fn register(&self, ip: &str, email: &str, expect: &'static [u16]) -> Call {
        self.call(Function::AuthRegister, "auth-register", ip, expect)
            .with(|event| with_body(event, &credentials(email, PASSWORD)))
    }

    /// An invalid email: 400 `invalid_field`, refused before any hashing.
    pub fn register_invalid(&self, ip: &str) -> Call {
        self.call(
            Function::AuthRegister,
            "auth-register-invalid-email",
            ip,
            &[400],
        )
    }

    pub fn login(&self, ip: &str, email: &str, expect: &'static [u16]) -> Call {
        self.login_with(ip, email, PASSWORD, expect)
    }

    pub fn login_wrong_password(&self, ip: &str, email: &str, expect: &'static [u16]) -> Call {
        self.login_with(ip, email, WRONG_PASSWORD, expect)
    }

    fn login_with(&self, ip: &str, email: &str, password: &str, expect: &'static [u16]) -> Call {
        self.call(Function::AuthLogin, "auth-login", ip, expect)
            .with(|event| with_body(event, &credentials(email, password)))
    }

    /// A body cut short: 400 `invalid_body`, refused before any hashing.
    pub fn login_bad_json(&self, ip: &str) -> Call {
        self.call(Function::AuthLogin, "auth-login", ip, &[400])
            .with(|event| with_body(event, r#"{"email": "ann@example.com", "pass"#))
    }

    pub fn me(&self, ip: &str, token: &str, expect: &'static [u16]) -> Call {
        self.call(Function::AuthMe, "auth-me", ip, expect)
            .with(|event| with_bearer(event, token))
    }

    /// The sample's token, which no key signed: 401 `invalid_token`.
    pub fn me_forged_token(&self, ip: &str) -> Call {
        self.call(Function::AuthMe, "auth-me", ip, &[401])
    }

    pub fn me_no_token(&self, ip: &str) -> Call {
        self.call(Function::AuthMe, "auth-me-no-token", ip, &[401])
    }

    pub fn logout(&self, ip: &str, token: &str, expect: &'static [u16]) -> Call {
        self.call(Function::AuthLogout, "auth-logout", ip, expect)
            .with(|event| with_bearer(event, token))
    }

    /// `{"allDevices": true}`: every token of the user, when `token` is live.
    pub fn logout_all_devices(&self, ip: &str, token: &str, expect: &'static [u16]) -> Call {
        self.call(Function::AuthLogout, "auth-logout-all-devices", ip, expect)
            .with(|event| with_bearer(event, token))
    }

    /// The sample's token, which no key signed: 401.
    pub fn logout_forged_token(&self, ip: &str) -> Call {
        self.call(Function::AuthLogout, "auth-logout", ip, &[401])
    }

    /// 200 when the authorizer allows, 403 when it denies.
    pub fn authorize(&self, ip: &str, token: &str, expect: &'static [u16]) -> Call {
        self.call(Function::Authorizer, "authorizer", ip, expect)
            .with(|event| with_bearer(event, token))
    }

    /// The sample's token, which no key signed: denied.
    pub fn authorize_forged_token(&self, ip: &str) -> Call {
        self.call(Function::Authorizer, "authorizer", ip, &[403])
    }
}

fn credentials(email: &str, password: &str) -> String {
    json!({"email": email, "password": password}).to_string()
}

/// A PNG data URL whose bytes carry `tag`: the PNG signature and a zero byte
/// (`iVBORw0KGgoA`), then eight hex digits, which are base64 characters too (six bytes).
pub fn tagged_signature(tag: u32) -> String {
    format!("data:image/png;base64,iVBORw0KGgoA{tag:08x}")
}
