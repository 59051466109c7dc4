//! Secret settings that may live in AWS SSM Parameter Store instead of the environment
//! (`docs/contract.md`, "Configuration").
//!
//! Each secret setting (`UPSTASH_REDIS_REST_TOKEN`, `JWT_SECRET`, `JWT_PREVIOUS_SECRET`) is
//! given either directly, which suits local runs, or as `<NAME>_PARAM`: the name of an SSM
//! SecureString, so deployed stages keep secrets out of the Lambda configuration, where anyone
//! who can read the function could see them. [`resolve`] reads the wanted parameters once per
//! cold start, in one `GetParameters` call, and hands back a [`Lookup`] that answers them as if
//! they had been set directly: the code that reads settings does not know where they came from.
//!
//! Without any `*_PARAM` no AWS client is built, so local runs need no AWS credentials and make
//! no network call.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameters::GetParametersError;
use aws_sdk_ssm::types::{Parameter, ParameterType};

use crate::env::Lookup;
use crate::secret::Secret;

/// The secret settings, each with the setting that may name its SSM parameter instead.
pub const SECRET_SETTINGS: [(&str, &str); 3] = [
    (crate::redis::TOKEN_VAR, "UPSTASH_REDIS_REST_TOKEN_PARAM"),
    ("JWT_SECRET", "JWT_SECRET_PARAM"),
    ("JWT_PREVIOUS_SECRET", "JWT_PREVIOUS_SECRET_PARAM"),
];

/// The longest a cold start waits for SSM, retries included: past it the function fails to
/// start with a clear error instead of hanging until Lambda's own timeout.
pub const SSM_TIMEOUT: Duration = Duration::from_secs(5);

/// One attempt's limit, so a stalled connection still leaves time for a retry within
/// [`SSM_TIMEOUT`] (`GetParameters` is a read: re-sending it is safe).
const SSM_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the secrets could not be resolved. Messages name settings and parameters, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("both {name} and {param} are set: set only one (the value, or the SSM parameter)")]
    BothSet {
        name: &'static str,
        param: &'static str,
    },
    #[error("SSM parameter {parameter} (for {param}) does not exist")]
    NotFound {
        param: &'static str,
        parameter: String,
    },
    #[error("SSM parameter {parameter} (for {param}) is empty")]
    Empty {
        param: &'static str,
        parameter: String,
    },
    /// The call itself failed: network, timeout, access denied, KMS. `cause` is the SDK's
    /// error kind and, for a service error, its code and message (which never hold values).
    #[error("cannot read SSM parameters {parameters}: {cause}")]
    Fetch { parameters: String, cause: String },
}

/// The settings with the secrets fetched from SSM filled in; every other name goes to the
/// underlying lookup (the process environment in production).
pub struct ResolvedEnv<L> {
    base: L,
    fetched: HashMap<&'static str, Secret>,
}

impl<L: Lookup> Lookup for ResolvedEnv<L> {
    fn get(&self, name: &str) -> Option<String> {
        match self.fetched.get(name) {
            Some(secret) => Some(secret.expose().to_owned()),
            None => self.base.get(name),
        }
    }
}

/// Lists which settings came from SSM, never their values.
impl<L> fmt::Debug for ResolvedEnv<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.fetched.keys().collect();
        names.sort();
        f.debug_struct("ResolvedEnv")
            .field("from_ssm", &names)
            .finish_non_exhaustive()
    }
}

/// Resolves the secret settings of `env`, reading any `*_PARAM` from SSM with a client
/// configured the standard AWS way (region, credentials and `AWS_ENDPOINT_URL_SSM` from the
/// process environment, as Lambda provides them). No client is built when nothing is wanted.
pub async fn resolve<L: Lookup>(env: L) -> Result<ResolvedEnv<L>, SecretsError> {
    let wanted = wanted(&env)?;
    if wanted.is_empty() {
        return Ok(ResolvedEnv {
            base: env,
            fetched: HashMap::new(),
        });
    }
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let fetched = fetch(&ssm_client(&sdk), &wanted).await?;
    Ok(ResolvedEnv { base: env, fetched })
}

/// [`resolve`] with a given client (tests point one at a fake SSM); it is used only when a
/// `*_PARAM` is set.
pub async fn resolve_with<L: Lookup>(env: L, ssm: &Client) -> Result<ResolvedEnv<L>, SecretsError> {
    let wanted = wanted(&env)?;
    let fetched = fetch(ssm, &wanted).await?;
    Ok(ResolvedEnv { base: env, fetched })
}

/// An SSM client from `sdk` with the cold-start time limits.
pub fn ssm_client(sdk: &SdkConfig) -> Client {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(SSM_TIMEOUT)
        .operation_attempt_timeout(SSM_ATTEMPT_TIMEOUT)
        .build();
    Client::from_conf(
        aws_sdk_ssm::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .build(),
    )
}

/// A secret setting to be read from SSM.
struct Wanted {
    name: &'static str,
    param: &'static str,
    parameter: String,
}

/// The secret settings given as SSM parameters. Blank counts as unset, as in
/// [`crate::env::required`], so a template may leave the unused one empty.
fn wanted(env: &impl Lookup) -> Result<Vec<Wanted>, SecretsError> {
    let set = |name: &str| env.get(name).filter(|value| !value.trim().is_empty());
    let mut wanted = Vec::new();
    for (name, param) in SECRET_SETTINGS {
        let Some(parameter) = set(param) else {
            continue;
        };
        if set(name).is_some() {
            return Err(SecretsError::BothSet { name, param });
        }
        wanted.push(Wanted {
            name,
            param,
            parameter: parameter.trim().to_owned(),
        });
    }
    Ok(wanted)
}

/// Reads every wanted parameter, decrypted, in one `GetParameters` call.
async fn fetch(
    ssm: &Client,
    wanted: &[Wanted],
) -> Result<HashMap<&'static str, Secret>, SecretsError> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let mut names: Vec<String> = wanted.iter().map(|w| w.parameter.clone()).collect();
    names.sort();
    names.dedup(); // two settings may share one parameter
    let output = ssm
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .map_err(|error| SecretsError::Fetch {
            parameters: wanted
                .iter()
                .map(|w| format!("{} (for {})", w.parameter, w.param))
                .collect::<Vec<_>>()
                .join(", "),
            cause: describe(&error),
        })?;

    let mut fetched = HashMap::new();
    for w in wanted {
        // Absent from `Parameters` means listed in `InvalidParameters`: it does not exist.
        let parameter = output
            .parameters()
            .iter()
            .find(|p| answers(p, &w.parameter))
            .ok_or_else(|| SecretsError::NotFound {
                param: w.param,
                parameter: w.parameter.clone(),
            })?;
        let value = parameter
            .value()
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| SecretsError::Empty {
                param: w.param,
                parameter: w.parameter.clone(),
            })?;
        if parameter.r#type() != Some(&ParameterType::SecureString) {
            tracing::warn!(
                parameter = w.parameter,
                setting = w.param,
                "SSM parameter holding a secret is not a SecureString: store it encrypted"
            );
        }
        fetched.insert(w.name, Secret::new(value));
    }
    tracing::info!(settings = ?fetched.keys().collect::<Vec<_>>(), "secrets read from SSM");
    Ok(fetched)
}

/// Whether `parameter` is the answer to the name `requested`, which may also be the
/// parameter's ARN and may end in a version or label selector (`/app/jwt:3`).
fn answers(parameter: &Parameter, requested: &str) -> bool {
    let selector = parameter.selector().unwrap_or_default();
    [parameter.name(), parameter.arn()]
        .into_iter()
        .flatten()
        .any(|name| requested.strip_prefix(name) == Some(selector))
}

/// The SDK error's kind and cause, for the log line that stops the cold start. Deliberately
/// not `Debug` or `DisplayErrorContext`: those include the raw HTTP response, whose body may
/// hold decrypted values.
fn describe(error: &SdkError<GetParametersError>) -> String {
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    match error {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            // No code: not an SSM error document (a proxy's 5xx, a garbled body).
            let code = error.code().unwrap_or("unexpected response");
            let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            match error.message() {
                Some(message) => format!("{code}{status}: {message}"),
                None => format!("{code}{status}"),
            }
        }
        SdkError::TimeoutError(_) => format!("no answer within {}s", SSM_TIMEOUT.as_secs()),
        // Network and request-building failures (no route, no region, no credentials) hold no
        // response body: their chain of causes is safe and says what to fix.
        _ => causes(error),
    }
}

/// `error: its source: its source's source ...`
fn causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Pairs;

    fn env(pairs: &[(&str, &str)]) -> Pairs {
        Pairs::new(pairs)
    }

    #[test]
    fn resolved_env_answers_fetched_secrets_and_delegates_everything_else() {
        let resolved = ResolvedEnv {
            base: env(&[
                ("JWT_SECRET_PARAM", "/app/jwt"),
                ("STAGE", "staging"),
                ("UPSTASH_REDIS_REST_TOKEN", "plain-token"),
            ]),
            fetched: HashMap::from([("JWT_SECRET", Secret::new("from-ssm-value"))]),
        };
        assert_eq!(
            resolved.get("JWT_SECRET").as_deref(),
            Some("from-ssm-value")
        );
        assert_eq!(resolved.get("STAGE").as_deref(), Some("staging"));
        assert_eq!(
            resolved.get("UPSTASH_REDIS_REST_TOKEN").as_deref(),
            Some("plain-token")
        );
        assert_eq!(
            resolved.get("JWT_SECRET_PARAM").as_deref(),
            Some("/app/jwt")
        );
        assert_eq!(resolved.get("UNSET"), None);
        let debug = format!("{resolved:?}");
        assert!(debug.contains("JWT_SECRET"), "{debug}");
        assert!(!debug.contains("from-ssm-value"), "{debug}");
    }

    #[test]
    fn wanted_lists_params_and_refuses_a_setting_given_twice() {
        let wanted = wanted(&env(&[
            ("JWT_SECRET_PARAM", " /app/jwt "),
            ("JWT_PREVIOUS_SECRET_PARAM", "  "),
            ("UPSTASH_REDIS_REST_TOKEN", "token"),
        ]))
        .unwrap();
        assert_eq!(wanted.len(), 1);
        assert_eq!(
            (
                wanted[0].name,
                wanted[0].param,
                wanted[0].parameter.as_str()
            ),
            ("JWT_SECRET", "JWT_SECRET_PARAM", "/app/jwt")
        );

        let both = env(&[("JWT_SECRET", "s"), ("JWT_SECRET_PARAM", "/app/jwt")]);
        assert_eq!(
            wanted_error(&both),
            SecretsError::BothSet {
                name: "JWT_SECRET",
                param: "JWT_SECRET_PARAM"
            }
        );
    }

    fn wanted_error(env: &impl Lookup) -> SecretsError {
        match wanted(env) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_parameter_answers_its_name_arn_and_selector() {
        let parameter = Parameter::builder()
            .name("/app/jwt")
            .arn("arn:aws:ssm:eu-west-1:123456789012:parameter/app/jwt")
            .selector(":3")
            .build();
        assert!(answers(&parameter, "/app/jwt:3"));
        assert!(answers(
            &parameter,
            "arn:aws:ssm:eu-west-1:123456789012:parameter/app/jwt:3"
        ));
        assert!(!answers(&parameter, "/app/jwt"));
        assert!(!answers(&parameter, "/app/jwt:4"));
        let plain = Parameter::builder().name("/app/jwt").build();
        assert!(answers(&plain, "/app/jwt"));
        assert!(!answers(&plain, "/app/jwt-old"));
    }
}
