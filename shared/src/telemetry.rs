//! Logging set-up shared by every function.

use tracing_subscriber::EnvFilter;

/// JSON logs, one object per line, as CloudWatch Logs Insights reads them; `RUST_LOG`
/// filters (default `info`). Lambda stamps every line itself, so no timestamp is added.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .init();
}
