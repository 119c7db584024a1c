//! Fault injection: throttling, server errors and latency, per operation.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an injected failure looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    /// `ThrottlingException`, HTTP 429; nothing is written.
    Throttle,
    /// An internal error, HTTP 500; nothing is written.
    ServerError,
    /// The write is made, then the answer is lost as an HTTP 500: the case
    /// where only an idempotency token keeps a retry from writing twice.
    ServerErrorAfterWrite,
    /// `ServiceQuotaExceededException` (Security IR's HTTP 402, e.g. the active
    /// case quota); nothing is written.
    QuotaExceeded,
}

/// Faults for one operation (or, as the default, for all).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct OpFaults {
    /// Share of calls (0.0-1.0) answered with `ThrottlingException`.
    pub throttle_share: f64,
    /// Share of calls (0.0-1.0) answered with an internal error.
    pub error_share: f64,
    /// Latency added before each answer, in milliseconds.
    pub latency_ms: u64,
}

/// All fault settings of a simulation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Faults {
    /// Applies to every operation without its own entry.
    pub all: OpFaults,
    /// Per operation name (e.g. `CreateCase`).
    pub operations: HashMap<String, OpFaults>,
    /// Failures queued for the next calls of an operation, used first.
    pub fail_next: HashMap<String, VecDeque<FailKind>>,
    /// An answer an operation gives instead of its own, to test what a broken or
    /// hostile service could send: the request is still validated and logged,
    /// nothing is written.
    pub answers: HashMap<String, serde_json::Value>,
    /// Calls of an operation whose request (path or body) holds a text fail every
    /// time, as `kind` (one investigation that always fails, say): `(operation, text, kind)`.
    pub fail_matching: Vec<(String, String, FailKind)>,
    #[serde(skip)]
    rng: u64,
}

impl Faults {
    /// Queues `n` failures of `kind` for the next calls of `operation`.
    pub fn fail_next(&mut self, operation: &str, n: usize, kind: FailKind) {
        self.fail_next.entry(operation.to_string()).or_default().extend(std::iter::repeat_n(kind, n));
    }

    /// Makes `operation` answer `answer` (HTTP 2xx, as JSON) instead of its own answer.
    pub fn answer_with(&mut self, operation: &str, answer: serde_json::Value) {
        self.answers.insert(operation.to_string(), answer);
    }

    /// Makes every call of `operation` whose path or body holds `text` fail as `kind`.
    pub fn fail_when(&mut self, operation: &str, text: &str, kind: FailKind) {
        self.fail_matching.push((operation.to_string(), text.to_string(), kind));
    }

    /// The failure a call with this path and body always meets, if any.
    pub fn matching(&self, operation: &str, path: &str, body: &[u8]) -> Option<FailKind> {
        let body = String::from_utf8_lossy(body);
        self.fail_matching.iter().find(|(op, text, _)| op == operation && (path.contains(text) || body.contains(text))).map(|(.., k)| *k)
    }

    /// Sets the faults of one operation.
    pub fn set(&mut self, operation: &str, faults: OpFaults) {
        self.operations.insert(operation.to_string(), faults);
    }

    /// Decides the fate of one call: the added latency, and the failure if any.
    pub fn draw(&mut self, operation: &str) -> (Duration, Option<FailKind>) {
        let f = self.operations.get(operation).unwrap_or(&self.all).clone();
        let latency = Duration::from_millis(f.latency_ms);
        if let Some(kind) = self.fail_next.get_mut(operation).and_then(VecDeque::pop_front) {
            return (latency, Some(kind));
        }
        let roll = self.roll();
        let kind = if roll < f.throttle_share {
            Some(FailKind::Throttle)
        } else if roll < f.throttle_share + f.error_share {
            Some(FailKind::ServerError)
        } else {
            None
        };
        (latency, kind)
    }

    /// A deterministic pseudo-random number in [0, 1): runs repeat exactly.
    fn roll(&mut self) -> f64 {
        if self.rng == 0 {
            self.rng = 0x9E37_79B9_7F4A_7C15;
        }
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
