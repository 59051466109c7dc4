//! The routes are written down three times: the HttpApi events of template.yaml (what is
//! deployed), the `cargo lambda watch` router in Cargo.toml (what `make dev` serves) and
//! openapi.yaml (what clients are told). These tests fail when the three disagree on any
//! method or path, when a route goes to a different binary locally than deployed, when a
//! function in template.yaml has no crate in functions/ (or the reverse), and when the
//! template loses the properties the API's security and failure policy rest on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use edgestate::http::ErrorCode;
use yaml_rust2::{Yaml, YamlLoader};

/// `(METHOD, /path/{param})`, the way API Gateway writes a route key.
type Route = (String, String);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`): the parser
/// keeps the tagged value and drops the tag, which is all these checks need.
fn yaml(relative: &str) -> Yaml {
    let mut documents = YamlLoader::load_from_str(&read(relative))
        .unwrap_or_else(|error| panic!("{relative} is not YAML: {error}"));
    assert_eq!(documents.len(), 1, "{relative} holds one YAML document");
    documents.remove(0)
}

fn entries(map: &Yaml) -> impl Iterator<Item = (&str, &Yaml)> {
    map.as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| key.as_str().map(|key| (key, value)))
}

/// A whole number, written either as a number or as a numeric string.
fn number(value: &Yaml) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

/// A function of template.yaml: its binary and the HttpApi routes that invoke it.
#[derive(Debug)]
struct Function {
    binary: String,
    routes: Vec<Route>,
    timeout_seconds: Option<i64>,
    authorizer_opt_outs: usize,
}

fn template_functions(template: &Yaml) -> BTreeMap<String, Function> {
    let mut functions = BTreeMap::new();
    for (logical_id, resource) in entries(&template["Resources"]) {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{logical_id}: Metadata.BuildMethod must be rust-cargolambda"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{logical_id}: Metadata.BuildProperties.Binary is missing"))
            .to_owned();
        let mut routes = Vec::new();
        let mut authorizer_opt_outs = 0;
        for (event_id, event) in entries(&resource["Properties"]["Events"]) {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            let (Some(method), Some(path)) =
                (properties["Method"].as_str(), properties["Path"].as_str())
            else {
                panic!("{logical_id}.{event_id}: an HttpApi event needs Method and Path");
            };
            routes.push((method.to_ascii_uppercase(), path.to_owned()));
            if properties["Auth"]["Authorizer"].as_str() == Some("NONE") {
                authorizer_opt_outs += 1;
            }
        }
        let timeout_seconds = number(&resource["Properties"]["Timeout"]);
        let function = Function {
            binary,
            routes,
            timeout_seconds,
            authorizer_opt_outs,
        };
        functions.insert(logical_id.to_owned(), function);
    }
    assert!(
        !functions.is_empty(),
        "template.yaml defines no AWS::Serverless::Function"
    );
    functions
}

/// route -> binary, as template.yaml deploys it.
fn template_routes(functions: &BTreeMap<String, Function>) -> BTreeMap<Route, String> {
    let mut routes = BTreeMap::new();
    for (logical_id, function) in functions {
        for route in &function.routes {
            if let Some(other) = routes.insert(route.clone(), function.binary.clone()) {
                panic!(
                    "template.yaml routes {} {} twice ({other} and {logical_id})",
                    route.0, route.1
                );
            }
        }
    }
    routes
}

/// route -> binary, as `cargo lambda watch` serves it ([workspace.metadata.lambda.watch.router]).
fn watch_routes() -> BTreeMap<Route, String> {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml parses");
    let router = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("metadata"))
        .and_then(|metadata| metadata.get("lambda"))
        .and_then(|lambda| lambda.get("watch"))
        .and_then(|watch| watch.get("router"))
        .and_then(toml::Value::as_table)
        .expect("Cargo.toml has a [workspace.metadata.lambda.watch.router] table");
    let mut routes = BTreeMap::new();
    for (path, target) in router {
        match target {
            // A bare function name answers every method: not what API Gateway does.
            toml::Value::String(function) => {
                routes.insert(("ANY".to_owned(), path.clone()), function.clone());
            }
            toml::Value::Array(methods) => {
                for entry in methods {
                    let method = entry.get("method").and_then(toml::Value::as_str);
                    let function = entry.get("function").and_then(toml::Value::as_str);
                    let (Some(method), Some(function)) = (method, function) else {
                        panic!("watch router {path}: each entry needs method and function");
                    };
                    let route = (method.to_ascii_uppercase(), path.clone());
                    if routes.insert(route, function.to_owned()).is_some() {
                        panic!("watch router {path}: {method} appears twice");
                    }
                }
            }
            other => panic!("watch router {path}: unexpected value {other:?}"),
        }
    }
    routes
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn openapi_routes() -> BTreeSet<Route> {
    let document = yaml("openapi.yaml");
    let mut routes = BTreeSet::new();
    for (path, item) in entries(&document["paths"]) {
        for (key, _) in entries(item) {
            if HTTP_METHODS.contains(&key) {
                routes.insert((key.to_ascii_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

/// The crates of functions/: each directory is one Lambda binary of the same name.
fn function_crates() -> BTreeSet<String> {
    let dir = repo_root().join("functions");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

fn describe<'a>(routes: impl IntoIterator<Item = &'a Route>) -> String {
    routes
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one side has that the other lacks, both ways; empty when they agree.
fn differences(
    left_name: &str,
    left: &BTreeSet<Route>,
    right_name: &str,
    right: &BTreeSet<Route>,
) -> Vec<String> {
    let mut found = Vec::new();
    let only_left: Vec<_> = left.difference(right).collect();
    if !only_left.is_empty() {
        found.push(format!(
            "in {left_name} but not {right_name}: {}",
            describe(only_left)
        ));
    }
    let only_right: Vec<_> = right.difference(left).collect();
    if !only_right.is_empty() {
        found.push(format!(
            "in {right_name} but not {left_name}: {}",
            describe(only_right)
        ));
    }
    found
}

#[test]
fn template_and_watch_router_route_the_same_requests_to_the_same_binaries() {
    let deployed = template_routes(&template_functions(&yaml("template.yaml")));
    let local = watch_routes();
    let mut problems = differences(
        "template.yaml",
        &deployed.keys().cloned().collect(),
        "the watch router in Cargo.toml",
        &local.keys().cloned().collect(),
    );
    for (route, binary) in &deployed {
        if let Some(local_binary) = local.get(route)
            && local_binary != binary
        {
            problems.push(format!(
                "{} {} runs {binary} deployed but {local_binary} under cargo lambda watch",
                route.0, route.1
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "routes disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn template_and_openapi_describe_the_same_routes() {
    let deployed: BTreeSet<Route> = template_routes(&template_functions(&yaml("template.yaml")))
        .into_keys()
        .collect();
    let problems = differences(
        "template.yaml",
        &deployed,
        "openapi.yaml",
        &openapi_routes(),
    );
    assert!(
        problems.is_empty(),
        "routes disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_template_function_is_a_crate_in_functions_and_every_crate_is_deployed() {
    let binaries: BTreeSet<String> = template_functions(&yaml("template.yaml"))
        .into_values()
        .map(|function| function.binary)
        .collect();
    let crates = function_crates();
    let mut problems = Vec::new();
    let missing: Vec<_> = binaries.difference(&crates).cloned().collect();
    if !missing.is_empty() {
        problems.push(format!(
            "template.yaml builds binaries with no functions/<name> crate: {}",
            missing.join(", ")
        ));
    }
    let undeployed: Vec<_> = crates.difference(&binaries).cloned().collect();
    if !undeployed.is_empty() {
        problems.push(format!(
            "functions/ has crates template.yaml does not deploy: {}",
            undeployed.join(", ")
        ));
    }
    for name in binaries.intersection(&crates) {
        let main = repo_root().join("functions").join(name).join("src/main.rs");
        if !main.is_file() {
            problems.push(format!("functions/{name} has no src/main.rs (its binary)"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The routes that rely on the default authorizer, as every route a team adds does: they read
/// the user from its context (`http::request::authorizer_subject`). Every other route opts out.
const BEHIND_THE_AUTHORIZER: [(&str, &str); 1] = [("GET", "/signature-session/stats")];

#[test]
fn the_authorizer_guards_new_routes_without_caching_and_edgestate_routes_opt_out() {
    let template = yaml("template.yaml");
    let apis: Vec<_> = entries(&template["Resources"])
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
        .collect();
    assert_eq!(apis.len(), 1, "template.yaml defines one HttpApi");
    let auth = &apis[0].1["Properties"]["Auth"];
    let default = auth["DefaultAuthorizer"]
        .as_str()
        .expect("the HttpApi has a DefaultAuthorizer, so routes added later are protected");
    let authorizer = &auth["Authorizers"][default];
    assert_eq!(
        authorizer["AuthorizerPayloadFormatVersion"].as_str(),
        Some("2.0")
    );
    assert_eq!(authorizer["EnableSimpleResponses"].as_bool(), Some(true));
    assert_eq!(
        number(&authorizer["Identity"]["ReauthorizeEvery"]),
        Some(0),
        "authorizer results must not be cached, or a logout would not take effect at once"
    );
    let mut guarded = 0;
    for (logical_id, function) in template_functions(&template) {
        let behind = function
            .routes
            .iter()
            .filter(|(method, path)| {
                BEHIND_THE_AUTHORIZER.contains(&(method.as_str(), path.as_str()))
            })
            .count();
        guarded += behind;
        assert_eq!(
            function.authorizer_opt_outs,
            function.routes.len() - behind,
            "{logical_id}: edgestate's own routes set Auth.Authorizer: NONE (they are public \
             or guard themselves within their one Redis round trip), except those of \
             BEHIND_THE_AUTHORIZER, which must not"
        );
    }
    assert_eq!(
        guarded,
        BEHIND_THE_AUTHORIZER.len(),
        "every route of BEHIND_THE_AUTHORIZER is in template.yaml"
    );
}

#[test]
fn function_timeouts_cover_their_redis_round_trips_at_the_longest_deadline() {
    let template = yaml("template.yaml");
    let redis_timeout = &template["Parameters"]["RedisTimeoutMs"];
    let longest_deadline_ms =
        number(&redis_timeout["MaxValue"]).expect("the RedisTimeoutMs parameter has a MaxValue");
    let default_timeout = number(&template["Globals"]["Function"]["Timeout"]);
    for (logical_id, function) in template_functions(&template) {
        // One round trip per route; a login may take a second (docs/contract.md).
        let round_trips = if function.binary == "auth-login" {
            2
        } else {
            1
        };
        let timeout_seconds = function
            .timeout_seconds
            .or(default_timeout)
            .unwrap_or_else(|| panic!("{logical_id} has no Timeout"));
        assert!(
            timeout_seconds * 1000 >= round_trips * longest_deadline_ms + 1000,
            "{logical_id}: a {timeout_seconds} s timeout does not cover {round_trips} Redis \
             round trip(s) of up to {longest_deadline_ms} ms plus 1 s"
        );
    }
}

/// The `code`s of a response's JSON examples.
fn example_codes(response: &Yaml) -> Vec<String> {
    entries(&response["content"]["application/json"]["examples"])
        .filter_map(|(_, example)| example["value"]["code"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn error_codes_are_one_enum_and_openapi_answers_each_with_its_status() {
    let document = yaml("openapi.yaml");
    let known: BTreeMap<&str, ErrorCode> = ErrorCode::ALL
        .iter()
        .map(|code| (code.as_str(), *code))
        .collect();
    let listed: BTreeSet<&str> =
        document["components"]["schemas"]["Error"]["properties"]["code"]["examples"]
            .as_vec()
            .expect("the Error schema lists its codes")
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
    assert_eq!(
        listed,
        known.keys().copied().collect(),
        "the codes openapi.yaml lists and http::ErrorCode"
    );

    let mut answered = BTreeSet::new();
    for (path, operations) in entries(&document["paths"]) {
        for (method, operation) in entries(operations) {
            for (status, response) in entries(&operation["responses"]) {
                let response = match response["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.trim_start_matches("#/components/responses/");
                        &document["components"]["responses"][name]
                    }
                    None => response,
                };
                for code in example_codes(response) {
                    let expected = known
                        .get(code.as_str())
                        .unwrap_or_else(|| panic!("{method} {path}: unknown code {code}"));
                    assert_eq!(
                        status,
                        expected.status().as_str(),
                        "{method} {path}: {code} is answered with {}",
                        expected.status()
                    );
                    answered.insert(code);
                }
            }
        }
    }
    let never: Vec<&str> = known
        .keys()
        .filter(|code| !answered.contains(**code))
        .copied()
        .collect();
    assert!(
        never.is_empty(),
        "no openapi.yaml example answers {never:?}"
    );
}
