//! Every answer of the run, by route and status: latencies, REST requests, and whether the
//! sender expected it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::fleet::{Call, Function, Reply, Status};

#[derive(Default)]
pub struct Recorder {
    routes: Mutex<BTreeMap<Function, Route>>,
}

#[derive(Default)]
pub struct Route {
    pub latencies: Vec<Duration>,
    pub answers: BTreeMap<Status, Answers>,
}

#[derive(Default, Clone, Copy)]
pub struct Answers {
    pub count: u64,
    pub rest: u64,
    /// Answers of this status that their sender did not expect.
    pub unexpected: u64,
}

impl Route {
    pub fn requests(&self) -> u64 {
        self.answers.values().map(|answers| answers.count).sum()
    }

    pub fn rest(&self) -> u64 {
        self.answers.values().map(|answers| answers.rest).sum()
    }
}

impl Recorder {
    pub fn record(&self, call: &Call, reply: &Reply) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let route = routes.entry(call.function).or_default();
        route.latencies.push(reply.latency);
        let answers = route.answers.entry(reply.status).or_default();
        answers.count += 1;
        answers.rest += reply.rest;
        answers.unexpected += u64::from(!call.expects(reply.status));
    }

    pub fn into_routes(self) -> BTreeMap<Function, Route> {
        self.routes
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
