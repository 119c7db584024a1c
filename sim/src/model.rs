//! The botocore service models: request routing, input assembly and validation.
//!
//! Every check here is derived from the committed model files (`sim/models/*.json`,
//! trimmed from botocore by `sim/models/extract.py`), never written by hand, so
//! the simulation rejects exactly what the model's constraints reject.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::SimError;

/// One of the three simulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Service {
    /// Amazon GuardDuty (investigations only).
    GuardDuty,
    /// AWS Security Incident Response.
    SecurityIr,
    /// AWS Systems Manager Incident Manager.
    Incidents,
    /// AWS Lambda (a function's configuration and resource policy only): what
    /// the operator's `replay` reads of the deployed function; the function
    /// itself never calls it.
    Lambda,
}

impl Service {
    /// All services, in routing order.
    pub const ALL: [Service; 4] = [Service::GuardDuty, Service::SecurityIr, Service::Incidents, Service::Lambda];

    /// The SigV4 signing name, as it appears in the credential scope.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty",
            Service::SecurityIr => "security-ir",
            Service::Incidents => "ssm-incidents",
            Service::Lambda => "lambda",
        }
    }

    fn model_json(self) -> &'static str {
        match self {
            Service::GuardDuty => include_str!("../models/guardduty.json"),
            Service::SecurityIr => include_str!("../models/security-ir.json"),
            Service::Incidents => include_str!("../models/ssm-incidents.json"),
            Service::Lambda => include_str!("../models/lambda.json"),
        }
    }

    /// The name of the error a service answers for a request that breaks the model's
    /// constraints (GuardDuty has no `ValidationException`: it answers `BadRequestException`).
    pub fn validation_error(self) -> &'static str {
        match self {
            Service::GuardDuty => "BadRequestException",
            Service::Lambda => "InvalidParameterValueException",
            _ => "ValidationException",
        }
    }
}

/// One operation of a service model.
#[derive(Debug)]
pub struct Operation {
    /// The service the operation belongs to.
    pub service: Service,
    /// The operation name, e.g. `CreateCase`.
    pub name: String,
    method: String,
    segments: Vec<Segment>,
    input: Option<String>,
    /// The HTTP status of a successful answer.
    pub response_code: u16,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Label(String),
}

/// A loaded service model.
#[derive(Debug)]
pub struct Model {
    /// Which service.
    pub service: Service,
    operations: Vec<Operation>,
    shapes: Map<String, Value>,
    patterns: HashMap<String, Regex>,
}

/// The three models, loaded once per simulation.
#[derive(Debug)]
pub struct Models {
    models: Vec<Model>,
}

/// A request matched to its operation, with its path labels decoded.
pub struct Routed<'a> {
    /// The model the operation belongs to.
    pub model: &'a Model,
    /// The operation.
    pub operation: &'a Operation,
    /// The URI labels, by name.
    pub labels: HashMap<String, String>,
}

impl Models {
    /// Loads the committed models. Fails only if a committed file is broken.
    pub fn load() -> Result<Self, String> {
        let models = Service::ALL.iter().map(|&s| Model::load(s)).collect::<Result<Vec<_>, _>>()?;
        Ok(Models { models })
    }

    /// The model of one service.
    pub fn get(&self, service: Service) -> &Model {
        // `load` builds one model per entry of `Service::ALL`, in order.
        &self.models[Service::ALL.iter().position(|&s| s == service).unwrap_or(0)]
    }

    /// Finds the operation for a method and path; `service` (from the SigV4 scope)
    /// narrows the search when known.
    pub fn route(&self, service: Option<Service>, method: &str, path: &str) -> Option<Routed<'_>> {
        self.models.iter().filter(|m| service.is_none_or(|s| s == m.service)).find_map(|m| m.route(method, path))
    }
}

impl Model {
    fn load(service: Service) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(service.model_json()).map_err(|e| format!("model of {service:?} is not JSON: {e}"))?;
        let shapes = doc["shapes"].as_object().cloned().unwrap_or_default();
        let mut operations = Vec::new();
        for (name, op) in doc["operations"].as_object().into_iter().flatten() {
            let uri = op["http"]["requestUri"].as_str().unwrap_or("/");
            let segments = uri
                .split('?')
                .next()
                .unwrap_or("")
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(label) => Segment::Label(label.to_string()),
                    None => Segment::Literal(s.to_string()),
                })
                .collect();
            operations.push(Operation {
                service,
                name: name.clone(),
                method: op["http"]["method"].as_str().unwrap_or("POST").to_string(),
                segments,
                input: op["input"]["shape"].as_str().map(str::to_string),
                response_code: op["http"]["responseCode"].as_u64().unwrap_or(200) as u16,
            });
        }
        let mut patterns = HashMap::new();
        for shape in shapes.values() {
            if let Some(p) = shape["pattern"].as_str() {
                let re = Regex::new(p).map_err(|e| format!("pattern {p:?} of {service:?}: {e}"))?;
                patterns.insert(p.to_string(), re);
            }
        }
        Ok(Model { service, operations, shapes, patterns })
    }

    fn route(&self, method: &str, path: &str) -> Option<Routed<'_>> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.operations.iter().find_map(|op| {
            if op.method != method || op.segments.len() != parts.len() {
                return None;
            }
            let mut labels = HashMap::new();
            for (seg, part) in op.segments.iter().zip(&parts) {
                match seg {
                    Segment::Literal(l) if l == part => {}
                    Segment::Literal(_) => return None,
                    Segment::Label(name) => {
                        labels.insert(name.clone(), percent_decode(part, false));
                    }
                }
            }
            Some(Routed { model: self, operation: op, labels })
        })
    }

    /// Assembles the operation's input from the URI labels, query string, headers
    /// and JSON body, keyed by wire name, and validates it against the input shape.
    pub fn parse_input(
        &self,
        routed: &Routed<'_>,
        query: &[(String, String)],
        headers: &http_headers::Headers,
        body: &[u8],
    ) -> Result<Value, SimError> {
        let body: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice(body) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(SimError::serialization("the request body is not a JSON object")),
                Err(e) => return Err(SimError::serialization(format!("the request body is not valid JSON: {e}"))),
            }
        };
        let Some(input_shape) = &routed.operation.input else {
            return Ok(Value::Object(Map::new()));
        };
        let shape = self.shape(input_shape);
        let mut input = Map::new();
        for (member, def) in shape["members"].as_object().into_iter().flatten() {
            let wire = def["locationName"].as_str().unwrap_or(member);
            let target = self.shape(def["shape"].as_str().unwrap_or_default());
            let value = match def["location"].as_str() {
                Some("uri") => routed.labels.get(wire).map(|s| scalar_from_text(target, s)),
                Some("querystring") => {
                    let vals: Vec<&String> = query.iter().filter(|(k, _)| k == wire).map(|(_, v)| v).collect();
                    match (target["type"].as_str(), vals.first()) {
                        (_, None) => None,
                        (Some("list"), _) => Some(Value::Array(vals.iter().map(|v| Value::String((*v).clone())).collect())),
                        (_, Some(v)) => Some(scalar_from_text(target, v)),
                    }
                }
                Some("header") => headers.get(wire).map(|s| scalar_from_text(target, s)),
                _ => body.get(wire).cloned(),
            };
            if let Some(v) = value {
                if !v.is_null() {
                    input.insert(wire.to_string(), v);
                }
            }
        }
        let input = Value::Object(input);
        let mut problems = Vec::new();
        self.validate(input_shape, &input, "", &mut problems);
        if problems.is_empty() {
            Ok(input)
        } else {
            Err(SimError::validation(self.service, problems))
        }
    }

    /// Checks `value` against shape `name`, collecting `(field path, message)` problems.
    pub fn validate(&self, name: &str, value: &Value, path: &str, problems: &mut Vec<(String, String)>) {
        let shape = self.shape(name);
        let mut fail = |msg: String| problems.push((path.to_string(), msg));
        let shown = || shorten(value);
        match shape["type"].as_str().unwrap_or("structure") {
            "string" => {
                let Some(s) = value.as_str() else {
                    return fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a string", shown()));
                };
                let len = s.chars().count() as u64;
                if let Some(min) = shape["min"].as_u64().filter(|&m| len < m) {
                    fail(format!(
                        "Value '{}' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}",
                        shorten_str(s)
                    ));
                }
                if let Some(max) = shape["max"].as_u64().filter(|&m| len > m) {
                    fail(format!(
                        "Value '{}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                        shorten_str(s)
                    ));
                }
                if let Some(values) = shape["enum"].as_array() {
                    if !values.iter().any(|v| v.as_str() == Some(s)) {
                        let set: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                        fail(format!(
                            "Value '{}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                            shorten_str(s),
                            set.join(", ")
                        ));
                    }
                }
                if let Some(p) = shape["pattern"].as_str() {
                    // Smithy patterns are not implicitly anchored: a search, as the services do.
                    if self.patterns.get(p).is_some_and(|re| !re.is_match(s)) {
                        fail(format!(
                            "Value '{}' at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {p}",
                            shorten_str(s)
                        ));
                    }
                }
            }
            "integer" | "long" => {
                let Some(n) = value.as_i64() else {
                    return fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be an integer", shown()));
                };
                if let Some(min) = shape["min"].as_i64().filter(|&m| n < m) {
                    fail(format!(
                        "Value '{n}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
                    ));
                }
                if let Some(max) = shape["max"].as_i64().filter(|&m| n > m) {
                    fail(format!(
                        "Value '{n}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}"
                    ));
                }
            }
            "double" | "float" | "timestamp" => {
                // restJson1 bodies carry timestamps as epoch seconds.
                if !value.is_number() {
                    fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a number", shown()));
                }
            }
            "boolean" => {
                if !value.is_boolean() {
                    fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a boolean", shown()));
                }
            }
            "blob" => {
                if !value.is_string() {
                    fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a base64 string", shown()));
                }
            }
            "list" => {
                let Some(items) = value.as_array() else {
                    return fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a list", shown()));
                };
                self.check_size(shape, items.len(), path, problems);
                let member = shape["member"]["shape"].as_str().unwrap_or_default();
                for (i, item) in items.iter().enumerate() {
                    self.validate(member, item, &format!("{path}.{}.member", i + 1), problems);
                }
            }
            "map" => {
                let Some(entries) = value.as_object() else {
                    return fail(format!("Value {} at '{path}' failed to satisfy constraint: Member must be a map", shown()));
                };
                self.check_size(shape, entries.len(), path, problems);
                let key = shape["key"]["shape"].as_str().unwrap_or_default();
                let val = shape["value"]["shape"].as_str().unwrap_or_default();
                for (k, v) in entries {
                    self.validate(key, &Value::String(k.clone()), &format!("{path}.{k}.key"), problems);
                    self.validate(val, v, &format!("{path}.{k}.value"), problems);
                }
            }
            _ => self.validate_structure(shape, value, path, problems),
        }
    }

    fn validate_structure(&self, shape: &Value, value: &Value, path: &str, problems: &mut Vec<(String, String)>) {
        let Some(obj) = value.as_object() else {
            problems.push((
                path.to_string(),
                format!("Value {} at '{path}' failed to satisfy constraint: Member must be a structure", shorten(value)),
            ));
            return;
        };
        let members = shape["members"].as_object().cloned().unwrap_or_default();
        let child = |wire: &str| {
            if path.is_empty() {
                wire.to_string()
            } else {
                format!("{path}.{wire}")
            }
        };
        for required in shape["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let wire = members.get(required).and_then(|m| m["locationName"].as_str()).unwrap_or(required);
            if obj.get(wire).is_none_or(Value::is_null) {
                let at = child(wire);
                problems.push((at.clone(), format!("Value null at '{at}' failed to satisfy constraint: Member must not be null")));
            }
        }
        let mut set_members = 0;
        for (member, def) in &members {
            let wire = def["locationName"].as_str().unwrap_or(member);
            if let Some(v) = obj.get(wire).filter(|v| !v.is_null()) {
                set_members += 1;
                self.validate(def["shape"].as_str().unwrap_or_default(), v, &child(wire), problems);
            }
        }
        if shape["union"].as_bool() == Some(true) && set_members != 1 {
            problems.push((
                path.to_string(),
                format!("Value at '{path}' failed to satisfy constraint: Union must have exactly one member set, found {set_members}"),
            ));
        }
    }

    fn check_size(&self, shape: &Value, len: usize, path: &str, problems: &mut Vec<(String, String)>) {
        let len = len as u64;
        if let Some(min) = shape["min"].as_u64().filter(|&m| len < m) {
            problems.push((
                path.to_string(),
                format!("Value at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}"),
            ));
        }
        if let Some(max) = shape["max"].as_u64().filter(|&m| len > m) {
            problems.push((
                path.to_string(),
                format!("Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}"),
            ));
        }
    }

    /// The member names of the operation's input that carry an idempotency token.
    pub fn token_member(&self, op: &Operation) -> Option<String> {
        let shape = self.shape(op.input.as_deref()?);
        shape["members"].as_object()?.iter().find_map(|(name, def)| {
            (def["idempotencyToken"].as_bool() == Some(true)).then(|| def["locationName"].as_str().unwrap_or(name).to_string())
        })
    }

    /// A shape by name; a name the model lacks reads as a structure without
    /// members rather than a panic (only a broken committed model can lack one).
    fn shape(&self, name: &str) -> &Value {
        static EMPTY: Value = Value::Null;
        self.shapes.get(name).unwrap_or(&EMPTY)
    }

    /// The HTTP status a modelled error answers with (its `error.httpStatusCode`).
    pub fn error_status(&self, code: &str) -> Option<u16> {
        self.shapes.get(code)?["error"]["httpStatusCode"].as_u64().map(|s| s as u16)
    }
}

/// Header access that the model layer needs, kept independent of the HTTP crate.
pub mod http_headers {
    /// Request headers, names lower-cased.
    #[derive(Default)]
    pub struct Headers(pub Vec<(String, String)>);

    impl Headers {
        /// The first value of a header, by case-insensitive name.
        pub fn get(&self, name: &str) -> Option<&str> {
            let name = name.to_ascii_lowercase();
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
        }
    }
}

fn scalar_from_text(shape: &Value, text: &str) -> Value {
    match shape["type"].as_str() {
        Some("integer" | "long") => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text.to_string())),
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

/// Decodes `%XX` escapes; `+` is a space only in a query string.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if plus_is_space && bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn shorten(v: &Value) -> String {
    shorten_str(&v.to_string())
}

fn shorten_str(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}...", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}
