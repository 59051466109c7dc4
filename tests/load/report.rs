//! The run's figures and checks, as a Markdown table for people and the same as JSON for
//! tools.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::bench::summarise;

use crate::Settings;
use crate::checks::Check;
use crate::fleet::{Function, Usage};
use crate::record::Route;
use testkit::procfs::TICKS_PER_SECOND;

/// Everything the report is made of.
pub struct Run<'a> {
    pub settings: &'a Settings,
    /// Functions of the workspace that no request of the load reaches.
    pub unloaded: &'a [String],
    pub elapsed: Duration,
    pub routes: &'a BTreeMap<Function, Route>,
    /// Every process's usage when the load started and when it ended, and its logs.
    pub before: &'a [Usage],
    pub after: &'a [Usage],
    pub logs: &'a [String],
    pub checks: &'a [Check],
}

impl Run<'_> {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    pub fn json(&self) -> Value {
        let (requests, rest) = self.totals();
        json!({
            "settings": {
                "seconds": self.settings.duration.as_secs(),
                "clients": self.settings.clients,
                "processesPerFunction": self.settings.instances,
                "maxRequests": self.settings.max_requests,
            },
            "functionsNotUnderLoad": self.unloaded,
            "elapsedSeconds": round(self.elapsed.as_secs_f64(), 2),
            "requests": requests,
            "requestsPerSecond": round(requests as f64 / self.elapsed.as_secs_f64(), 1),
            "restRequests": rest,
            "restRequestsPerRequest": round(ratio(rest, requests), 3),
            "routes": self.routes.iter().map(|(function, route)| {
                let (p50, p99) = quantiles(route);
                json!({
                    "route": function.route(),
                    "function": function.binary(),
                    "requests": route.requests(),
                    "p50Ms": round(p50, 2),
                    "p99Ms": round(p99, 2),
                    "restRequestsPerRequest": round(ratio(route.rest(), route.requests()), 3),
                    "answers": route.answers.iter().map(|(status, answers)| json!({
                        "status": status.to_string(),
                        "count": answers.count,
                        "restRequestsPerRequest": round(ratio(answers.rest, answers.count), 3),
                        "unexpected": answers.unexpected,
                    })).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
            "functions": self.functions().iter().map(|function| json!({
                "function": function.function.binary(),
                "requests": function.requests,
                "cpuMsPerRequest": round(function.cpu_ms_per_request(), 3),
                "errorLogLines": function.error_lines,
                "processes": function.processes.iter().map(|process| json!({
                    "pid": process.pid,
                    "requests": process.requests,
                    "cpuMs": process.cpu_ms,
                    "peakRssKiB": process.peak_rss_kib,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "unexpected": self.unexpected().iter().map(|(function, status, count)| json!({
                "route": function.route(),
                "status": status,
                "count": count,
            })).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|check| json!({
                "name": check.name,
                "passed": check.passed,
                "detail": check.detail,
            })).collect::<Vec<_>>(),
            "passed": self.passed(),
        })
    }

    pub fn markdown(&self) -> String {
        let (requests, rest) = self.totals();
        let settings = self.settings;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## make load: {} processes per function, {} clients, {} s\n",
            settings.instances,
            settings.clients,
            settings.duration.as_secs()
        );
        let _ = writeln!(
            out,
            "**{requests} requests in {:.1} s: {:.0} requests/s**, {:.3} REST requests per \
             request ({rest} in all). Latency: from the moment a process takes the event to \
             its answer.\n",
            self.elapsed.as_secs_f64(),
            requests as f64 / self.elapsed.as_secs_f64(),
            ratio(rest, requests),
        );
        if !self.unloaded.is_empty() {
            let _ = writeln!(
                out,
                "Not under load (the load test sends nothing to them yet): {}.\n",
                self.unloaded.join(", ")
            );
        }
        out.push_str(
            "| Route | Requests | p50 ms | p99 ms | REST req. per request | Answers: count (REST req. each) |\n\
             |---|---:|---:|---:|---:|---|\n",
        );
        for (function, route) in self.routes {
            let (p50, p99) = quantiles(route);
            let answers: Vec<String> = route
                .answers
                .iter()
                .map(|(status, answers)| {
                    format!(
                        "{status}: {} ({})",
                        answers.count,
                        trim(ratio(answers.rest, answers.count))
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {p50:.2} | {p99:.2} | {:.2} | {} |",
                function.route(),
                route.requests(),
                ratio(route.rest(), route.requests()),
                answers.join(", ")
            );
        }
        out.push_str(
            "\n| Function | Processes | Requests | CPU ms per request | Peak RSS MiB per process | Error log lines |\n\
             |---|---:|---:|---:|---|---:|\n",
        );
        for function in self.functions() {
            let peaks: Vec<String> = function
                .processes
                .iter()
                .map(|process| {
                    process
                        .peak_rss_kib
                        .map_or("?".to_owned(), |kib| format!("{:.1}", kib as f64 / 1024.0))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2} | {} | {} |",
                function.function.binary(),
                function.processes.len(),
                function.requests,
                function.cpu_ms_per_request(),
                peaks.join(" / "),
                function.error_lines
            );
        }
        let unexpected = self.unexpected();
        if unexpected.is_empty() {
            out.push_str("\nUnexpected answers (a status its sender did not expect): none.\n");
        } else {
            out.push_str(
                "\nUnexpected answers (a status its sender did not expect: any 5xx, a 4xx other than \
                 the expected one, a 2xx where a 4xx was due):\n\n\
                 | Route | Answer | Count |\n|---|---|---:|\n",
            );
            for (function, status, count) in unexpected {
                let _ = writeln!(out, "| {} | {status} | {count} |", function.route());
            }
        }
        out.push_str("\n| Check | Result | Detail |\n|---|---|---|\n");
        for check in self.checks {
            let result = if check.passed { "pass" } else { "**FAIL**" };
            let _ = writeln!(out, "| {} | {result} | {} |", check.name, check.detail);
        }
        out
    }

    /// Requests and REST requests over every route.
    fn totals(&self) -> (u64, u64) {
        self.routes
            .values()
            .fold((0, 0), |(requests, rest), route| {
                (requests + route.requests(), rest + route.rest())
            })
    }

    /// (route, answer, count) of every answer its sender did not expect.
    fn unexpected(&self) -> Vec<(Function, String, u64)> {
        self.routes
            .iter()
            .flat_map(|(function, route)| {
                route
                    .answers
                    .iter()
                    .filter(|(_, answers)| answers.unexpected > 0)
                    .map(|(status, answers)| (*function, status.to_string(), answers.unexpected))
            })
            .collect()
    }

    fn functions(&self) -> Vec<FunctionUsage> {
        let mut functions: Vec<FunctionUsage> = Vec::new();
        for ((before, after), logs) in self.before.iter().zip(self.after).zip(self.logs) {
            let cpu_ticks = after
                .cpu_ticks
                .zip(before.cpu_ticks)
                .map(|(after, before)| after.saturating_sub(before));
            let process = ProcessUsage {
                pid: after.pid,
                requests: after.served - before.served,
                cpu_ms: cpu_ticks.map(|ticks| ticks * 1000 / *TICKS_PER_SECOND),
                peak_rss_kib: after.peak_rss_kib,
            };
            let error_lines = logs
                .lines()
                .filter(|line| line.contains(r#""level":"ERROR""#))
                .count();
            match functions.last_mut() {
                Some(function) if function.function == after.function => {
                    function.requests += process.requests;
                    function.error_lines += error_lines;
                    function.processes.push(process);
                }
                _ => functions.push(FunctionUsage {
                    function: after.function,
                    requests: process.requests,
                    error_lines,
                    processes: vec![process],
                }),
            }
        }
        functions
    }
}

struct FunctionUsage {
    function: Function,
    requests: u64,
    error_lines: usize,
    processes: Vec<ProcessUsage>,
}

impl FunctionUsage {
    /// CPU time of the function's processes over the requests they served (processes whose
    /// CPU time could not be read count for neither).
    fn cpu_ms_per_request(&self) -> f64 {
        let (cpu_ms, requests) = self
            .processes
            .iter()
            .filter_map(|process| process.cpu_ms.map(|cpu_ms| (cpu_ms, process.requests)))
            .fold((0, 0), |(cpu, count), (cpu_ms, requests)| {
                (cpu + cpu_ms, count + requests)
            });
        ratio(cpu_ms, requests)
    }
}

struct ProcessUsage {
    pid: Option<u32>,
    requests: u64,
    cpu_ms: Option<u64>,
    peak_rss_kib: Option<u64>,
}

/// p50 and p99 latency in milliseconds.
fn quantiles(route: &Route) -> (f64, f64) {
    if route.latencies.is_empty() {
        return (0.0, 0.0);
    }
    let summary = summarise(route.latencies.clone());
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    (ms(summary.p50), ms(summary.p99))
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `1` rather than `1.00`: most answers cost a whole number of REST requests.
fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
