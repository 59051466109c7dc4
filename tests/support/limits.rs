//! Reading a limiter without spending from it, for tests only: the functions never need to.

use edgestate::ratelimit::{Decision, Limit, Limiter};
use edgestate::startup::App;

use crate::Stack;

/// What one more request on `limiter` for `identifier` would get, consuming nothing: the
/// limiter's state is copied to a scratch identifier over RESP, the copy is spent, and the
/// request the copy spent is counted back into `remaining`.
pub async fn peek(stack: &Stack, app: &App, limiter: Limiter, identifier: &str) -> Decision {
    let scratch = format!("peek-of-{identifier}");
    let key = |identifier: &str| app.keys.rate_limit(limiter.name(), identifier);
    let mut redis = stack.redis().connect().await;
    redis::cmd("COPY")
        .arg(key(identifier))
        .arg(key(&scratch))
        .arg("REPLACE")
        .exec_async(&mut redis)
        .await
        .expect("COPY of the limiter's state");
    let mut decision = app
        .limiter
        .hit(&app.redis, &[Limit::consume(limiter, scratch.as_str())])
        .await
        .expect("the scratch limiter answers");
    app.limiter
        .reset(&app.redis, limiter, &scratch)
        .await
        .expect("the scratch limiter is removed");
    if decision.allowed {
        decision.remaining += 1;
    }
    decision
}
