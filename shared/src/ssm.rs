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
//!
//! The call is SSM's JSON 1.1 protocol by hand (a `POST` with `X-Amz-Target:
//! AmazonSSM.GetParameters`), signed with SigV4 by `aws-sigv4` and sent with `reqwest`, with
//! the SDK's standard retry and this module's time limits. The full AWS SDK client did the
//! same for most of every package's size, for one request per cold start.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::region::ProvideRegion;
use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_types::service_config::ServiceConfigKey;
use serde::Deserialize;

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

/// The operation, as SSM's JSON 1.1 protocol names it.
const TARGET: &str = "AmazonSSM.GetParameters";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// The signing name of SSM.
const SERVICE: &str = "ssm";

/// Error codes the AWS SDKs' standard retry sends again (throttling and transient errors),
/// besides HTTP 500, 502, 503 and 504.
const RETRIED_CODES: [&str; 16] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
];

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
    /// The call itself failed: network, timeout, access denied, KMS. `cause` is the kind of
    /// failure and, for an error SSM answered, its code and message (which never hold values).
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
/// configured from the process environment, as Lambda provides it (see [`Client::from_env`]).
/// No client is built when nothing is wanted.
pub async fn resolve<L: Lookup>(env: L) -> Result<ResolvedEnv<L>, SecretsError> {
    let wanted = wanted(&env)?;
    if wanted.is_empty() {
        return Ok(ResolvedEnv {
            base: env,
            fetched: HashMap::new(),
        });
    }
    let ssm = Client::from_env(&env).await;
    let fetched = fetch(&ssm, &wanted).await?;
    Ok(ResolvedEnv { base: env, fetched })
}

/// [`resolve`] with a given client (tests point one at a fake SSM); it is used only when a
/// `*_PARAM` is set.
pub async fn resolve_with<L: Lookup>(env: L, ssm: &Client) -> Result<ResolvedEnv<L>, SecretsError> {
    let wanted = wanted(&env)?;
    let fetched = fetch(ssm, &wanted).await?;
    Ok(ResolvedEnv { base: env, fetched })
}

/// An SSM client from `sdk` with the cold-start time limits: its region, credentials, retry
/// configuration and endpoint, chosen as the SDK's own SSM client would (an endpoint set in
/// code, else `AWS_ENDPOINT_URL_SSM` or the profile's SSM section, else `AWS_ENDPOINT_URL`).
pub fn ssm_client(sdk: &SdkConfig) -> Client {
    let endpoint = if sdk.get_origin("endpoint_url").is_client_config() {
        sdk.endpoint_url().map(str::to_owned)
    } else {
        sdk.service_config()
            .and_then(|config| config.load_config(ssm_endpoint_key()))
            .or_else(|| sdk.endpoint_url().map(str::to_owned))
    };
    Client {
        region: sdk.region().cloned(),
        credentials: sdk.credentials_provider(),
        endpoint,
        use_fips: sdk.use_fips().unwrap_or(false),
        retry: sdk
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard),
    }
}

fn ssm_endpoint_key() -> ServiceConfigKey<'static> {
    ServiceConfigKey::builder()
        .service_id("SSM")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every field is set")
}

/// A client of the one SSM operation a cold start needs, `GetParameters`.
#[derive(Debug, Clone)]
pub struct Client {
    region: Option<Region>,
    credentials: Option<SharedCredentialsProvider>,
    /// A configured endpoint; without one, SSM's endpoint in `region`.
    endpoint: Option<String>,
    use_fips: bool,
    retry: RetryConfig,
}

impl Client {
    /// The client of a Lambda cold start: region (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and
    /// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) from
    /// aws-config's environment providers, which is where Lambda puts them; the endpoint from
    /// `AWS_ENDPOINT_URL_SSM`, else `AWS_ENDPOINT_URL` (unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else SSM's in the region; the SDK's
    /// standard retry (3 attempts).
    pub async fn from_env(env: &impl Lookup) -> Client {
        let set = |name: &str| set(env, name);
        let enabled = |name: &str| set(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let endpoint = if enabled("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
            None
        } else {
            set("AWS_ENDPOINT_URL_SSM").or_else(|| set("AWS_ENDPOINT_URL"))
        };
        Client {
            region: EnvironmentVariableRegionProvider::new().region().await,
            credentials: Some(SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            )),
            endpoint,
            use_fips: enabled("AWS_USE_FIPS_ENDPOINT"),
            retry: RetryConfig::standard(),
        }
    }

    /// One `GetParameters` call, decrypting, within [`SSM_TIMEOUT`]; the error is the cause
    /// for [`SecretsError::Fetch`].
    async fn get_parameters(&self, names: &[String]) -> Result<GetParametersOutput, String> {
        let body = serde_json::json!({ "Names": names, "WithDecryption": true }).to_string();
        tokio::time::timeout(SSM_TIMEOUT, self.send(&body))
            .await
            .unwrap_or_else(|_| Err(no_answer()))
    }

    /// Sends `body` with the standard retry: a throttled, transient or unanswered attempt is
    /// sent again, after a full-jitter exponential backoff, up to the configured attempts.
    async fn send(&self, body: &str) -> Result<GetParametersOutput, String> {
        let (endpoint, region) = self.endpoint()?;
        let credentials = self.credentials().await?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|error| format!("cannot build an HTTP client: {}", causes(&error)))?;
        let attempts = self.retry.max_attempts().max(1);
        let mut attempt = 1;
        loop {
            let failure = match self
                .attempt(&http, &endpoint, region.as_ref(), &credentials, body)
                .await
            {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            if !failure.retry || attempt >= attempts {
                return Err(failure.cause);
            }
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        http: &reqwest::Client,
        endpoint: &url::Url,
        region: &str,
        credentials: &Credentials,
        body: &str,
    ) -> Result<GetParametersOutput, Failure> {
        let request =
            signed(http, endpoint, region, credentials, body).map_err(|cause| Failure {
                cause,
                retry: false,
            })?;
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            let code = response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            Ok::<_, reqwest::Error>((status, code, response.bytes().await?))
        };
        let (status, header_code, bytes) =
            match tokio::time::timeout(SSM_ATTEMPT_TIMEOUT, exchange).await {
                Err(_) => return Err(Failure::transient(no_answer())),
                // No route, refused, reset: nothing was read, so nothing can leak.
                Ok(Err(error)) => {
                    return Err(Failure::transient(format!(
                        "dispatch failure: {}",
                        causes(&error)
                    )));
                }
                Ok(Ok(exchange)) => exchange,
            };
        let status = status.as_u16();
        if (200..300).contains(&status) {
            // Never the parser's message: it may quote the body, which holds the values.
            return serde_json::from_slice(&bytes).map_err(|_| Failure {
                cause: format!("unexpected response (HTTP {status})"),
                retry: false,
            });
        }
        let error = ErrorBody::parse(header_code.as_deref(), &bytes);
        Err(Failure {
            retry: [500, 502, 503, 504].contains(&status)
                || error
                    .code
                    .as_deref()
                    .is_some_and(|c| RETRIED_CODES.contains(&c)),
            cause: error.describe(status),
        })
    }

    /// Where requests go, and the region they are signed for.
    fn endpoint(&self) -> Result<(url::Url, Region), String> {
        let region = self.region.clone().ok_or("no AWS region: set AWS_REGION")?;
        let endpoint = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => regional_endpoint(region.as_ref(), self.use_fips)?,
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|error| format!("invalid SSM endpoint {endpoint:?}: {error}"))?;
        Ok((url, region))
    }

    async fn credentials(&self) -> Result<Credentials, String> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or("no AWS credentials provider")?;
        provider
            .provide_credentials()
            .await
            .map_err(|error| format!("no AWS credentials: {}", causes(&error)))
    }

    /// The standard retry's wait before attempt `attempt + 1`: a random share of
    /// `initial_backoff * 2^(attempt - 1)`, at most `max_backoff`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .initial_backoff()
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.retry.max_backoff());
        let mut random = [0u8; 4];
        let fraction = aws_lc_rs::rand::fill(&mut random).map_or(1.0, |()| {
            f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX)
        });
        ceiling.mul_f64(fraction)
    }
}

/// SSM's endpoint in `region`: `ssm.<region>.amazonaws.com` (`.com.cn` in China, `ssm-fips`
/// when FIPS endpoints are asked for).
fn regional_endpoint(region: &str, fips: bool) -> Result<String, String> {
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(format!("invalid AWS region {region:?}"));
    }
    let host = if fips { "ssm-fips" } else { "ssm" };
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(format!("https://{host}.{region}.{domain}"))
}

/// The `POST` of `body` to `endpoint`, with SigV4 headers for SSM in `region`.
fn signed(
    http: &reqwest::Client,
    endpoint: &url::Url,
    region: &str,
    credentials: &Credentials,
    body: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let headers = [("content-type", AMZ_JSON), ("x-amz-target", TARGET)];
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| format!("cannot sign the request: {error}"))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        endpoint.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .and_then(|request| sign(request, &params))
    .map_err(|error| format!("cannot sign the request: {error}"))?;
    let mut request = http.post(endpoint.clone()).body(body.to_owned());
    for (name, value) in headers.into_iter().chain(signable.output().headers()) {
        request = request.header(name, value);
    }
    Ok(request)
}

/// How one attempt failed, and whether the standard retry sends it again.
struct Failure {
    cause: String,
    retry: bool,
}

impl Failure {
    fn transient(cause: String) -> Failure {
        Failure { cause, retry: true }
    }
}

fn no_answer() -> String {
    format!("no answer within {}s", SSM_TIMEOUT.as_secs())
}

/// A successful `GetParameters` answer. Not `Debug`: it holds the decrypted values.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersOutput {
    /// What was found; a name that is not here is in `InvalidParameters`.
    #[serde(default)]
    parameters: Vec<Parameter>,
}

/// One parameter of the answer. Not `Debug`: it holds a decrypted value.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    name: Option<String>,
    #[serde(rename = "ARN")]
    arn: Option<String>,
    selector: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    value: Option<String>,
}

/// An error SSM answered: its code (`x-amzn-errortype`, else `__type`, without namespace) and
/// message. Neither holds parameter values.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type")]
    code: Option<String>,
    #[serde(alias = "Message", alias = "errorMessage")]
    message: Option<String>,
}

impl ErrorBody {
    fn parse(header_code: Option<&str>, body: &[u8]) -> ErrorBody {
        let mut error: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        error.code = header_code
            .map(str::to_owned)
            .or(error.code)
            .map(|code| sanitize_code(&code).to_owned());
        error
    }

    /// `Code (HTTP 400): message`; without a code (not an SSM error document: a proxy's 5xx, a
    /// garbled body) `unexpected response (HTTP 502)`.
    fn describe(&self, status: u16) -> String {
        let code = self.code.as_deref().unwrap_or("unexpected response");
        match &self.message {
            Some(message) => format!("{code} (HTTP {status}): {message}"),
            None => format!("{code} (HTTP {status})"),
        }
    }
}

/// `aws.protocols#AccessDeniedException:http://...` is `AccessDeniedException`.
fn sanitize_code(code: &str) -> &str {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code)
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
    let mut wanted = Vec::new();
    for (name, param) in SECRET_SETTINGS {
        let Some(parameter) = set(env, param) else {
            continue;
        };
        if set(env, name).is_some() {
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

/// The value of `name`, unless unset or blank.
fn set(env: &impl Lookup, name: &str) -> Option<String> {
    env.get(name).filter(|value| !value.trim().is_empty())
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
        .get_parameters(&names)
        .await
        .map_err(|cause| SecretsError::Fetch {
            parameters: wanted
                .iter()
                .map(|w| format!("{} (for {})", w.parameter, w.param))
                .collect::<Vec<_>>()
                .join(", "),
            cause,
        })?;

    let mut fetched = HashMap::new();
    for w in wanted {
        // Absent from `Parameters` means listed in `InvalidParameters`: it does not exist.
        let parameter = output
            .parameters
            .iter()
            .find(|p| answers(p, &w.parameter))
            .ok_or_else(|| SecretsError::NotFound {
                param: w.param,
                parameter: w.parameter.clone(),
            })?;
        let value = parameter
            .value
            .as_deref()
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| SecretsError::Empty {
                param: w.param,
                parameter: w.parameter.clone(),
            })?;
        if parameter.kind.as_deref() != Some("SecureString") {
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
    let selector = parameter.selector.as_deref().unwrap_or_default();
    [&parameter.name, &parameter.arn]
        .into_iter()
        .flatten()
        .any(|name| requested.strip_prefix(name.as_str()) == Some(selector))
}

/// `error: its source: its source's source ...`: for failures that hold no response body
/// (network, signing, credentials), whose chain of causes is safe and says what to fix.
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

    fn parameter(json: serde_json::Value) -> Parameter {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_parameter_answers_its_name_arn_and_selector() {
        let parameter = parameter(serde_json::json!({
            "Name": "/app/jwt",
            "ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter/app/jwt",
            "Selector": ":3",
        }));
        assert!(answers(&parameter, "/app/jwt:3"));
        assert!(answers(
            &parameter,
            "arn:aws:ssm:eu-west-1:123456789012:parameter/app/jwt:3"
        ));
        assert!(!answers(&parameter, "/app/jwt"));
        assert!(!answers(&parameter, "/app/jwt:4"));
        let plain = self::parameter(serde_json::json!({ "Name": "/app/jwt" }));
        assert!(answers(&plain, "/app/jwt"));
        assert!(!answers(&plain, "/app/jwt-old"));
    }

    #[test]
    fn errors_are_described_by_code_without_namespace_and_message() {
        let body =
            br#"{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}"#;
        let error = ErrorBody::parse(None, body);
        assert_eq!(
            error.describe(400),
            "ThrottlingException (HTTP 400): Rate exceeded"
        );
        let header = ErrorBody::parse(Some("AccessDeniedException:http://internal/"), b"{}");
        assert_eq!(header.describe(400), "AccessDeniedException (HTTP 400)");
        let capital = ErrorBody::parse(None, br#"{"__type":"X","Message":"m"}"#);
        assert_eq!(capital.describe(400), "X (HTTP 400): m");
        let proxy = ErrorBody::parse(None, b"<html>Bad Gateway</html>");
        assert_eq!(proxy.describe(502), "unexpected response (HTTP 502)");
    }

    #[test]
    fn the_regional_endpoint_follows_region_partition_and_fips() {
        let endpoint = |region, fips| regional_endpoint(region, fips);
        assert_eq!(
            endpoint("eu-west-1", false).unwrap(),
            "https://ssm.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("us-east-1", true).unwrap(),
            "https://ssm-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("cn-north-1", false).unwrap(),
            "https://ssm.cn-north-1.amazonaws.com.cn"
        );
        assert!(endpoint("eu-west-1.evil.example/x", false).is_err());
        assert!(endpoint("", false).is_err());
    }

    #[tokio::test]
    async fn the_environment_chooses_the_endpoint() {
        let client = |pairs: &[(&str, &str)]| {
            let env = env(pairs);
            async move { Client::from_env(&env).await.endpoint }
        };
        let ssm = ("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:4566");
        let global = ("AWS_ENDPOINT_URL", "http://127.0.0.1:4510");
        assert_eq!(client(&[ssm, global]).await.as_deref(), Some(ssm.1));
        assert_eq!(client(&[global]).await.as_deref(), Some(global.1));
        let ignore = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert_eq!(client(&[ssm, global, ignore]).await, None);
        assert_eq!(client(&[]).await, None);
    }

    /// The request carries a SigV4 signature of exactly what is sent (method, path, the
    /// JSON headers, host, date, session token and body hash), for SSM in the region, as
    /// computed here independently of aws-sigv4.
    #[test]
    fn requests_are_signed_for_ssm_over_what_is_sent() {
        use aws_lc_rs::{digest, hmac};
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let sha256 = |data: &[u8]| hex(digest::digest(&digest::SHA256, data).as_ref());
        let mac = |key: &[u8], data: &str| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
                .as_ref()
                .to_vec()
        };
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "secret-key",
            Some("token".into()),
            None,
            "test",
        );
        let endpoint = url::Url::parse("http://127.0.0.1:4566").unwrap();
        let body = r#"{"Names":["/app/jwt"],"WithDecryption":true}"#;

        let request = signed(
            &reqwest::Client::new(),
            &endpoint,
            "eu-west-1",
            &credentials,
            body,
        )
        .unwrap()
        .build()
        .unwrap();

        assert_eq!(
            (request.method().as_str(), request.url().as_str()),
            ("POST", "http://127.0.0.1:4566/")
        );
        assert_eq!(
            request.body().and_then(|b| b.as_bytes()),
            Some(body.as_bytes())
        );
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        let date = header("x-amz-date");
        let day = &date[..8];
        assert_eq!(header("x-amz-security-token"), "token");
        let signed_headers = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target";
        let canonical = format!(
            "POST\n/\n\ncontent-type:{AMZ_JSON}\nhost:127.0.0.1:4566\nx-amz-date:{date}\n\
             x-amz-security-token:token\nx-amz-target:{TARGET}\n\n{signed_headers}\n{}",
            sha256(body.as_bytes())
        );
        let scope = format!("{day}/eu-west-1/ssm/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            sha256(canonical.as_bytes())
        );
        let mut key = mac(b"AWS4secret-key", day);
        for part in ["eu-west-1", "ssm", "aws4_request"] {
            key = mac(&key, part);
        }
        assert_eq!(
            header("authorization"),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={signed_headers}, \
                 Signature={}",
                hex(&mac(&key, &to_sign))
            )
        );
    }

    #[test]
    fn backoff_is_a_share_of_a_doubling_capped_ceiling() {
        let client = Client {
            region: None,
            credentials: None,
            endpoint: None,
            use_fips: false,
            retry: RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_millis(300)),
        };
        for _ in 0..20 {
            assert!(client.backoff(1) <= Duration::from_millis(100));
            assert!(client.backoff(2) <= Duration::from_millis(200));
            assert!(client.backoff(5) <= Duration::from_millis(300));
        }
    }
}
