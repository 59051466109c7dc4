//! The HttpApi's default Lambda authorizer (payload 2.0, simple responses).

use edgestate::guard::{Authorizer, Verdict};
use edgestate::metrics::measured;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (app, tokens) = edgestate::startup::cold_start_with_tokens().await;
    let authorizer = Authorizer::new(&app, tokens);
    run(service_fn(|event: LambdaEvent<_>| {
        let verdict = measured(authorizer.authorize(event.payload), Verdict::status);
        async move { Ok::<_, Error>(verdict.await) }
    }))
    .await
}
