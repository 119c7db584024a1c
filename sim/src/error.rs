//! Service errors as the real services put them on the wire: an `x-amzn-errortype`
//! header naming the error, and a JSON body with `message` and the members the
//! error's shape requires.

use serde_json::{json, Map, Value};

use crate::model::Service;

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SimError {
    /// HTTP status.
    pub status: u16,
    /// Error name, e.g. `ValidationException`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra body members required by the error's shape.
    pub extra: Map<String, Value>,
    /// Extra headers (e.g. `Retry-After`).
    pub headers: Vec<(String, String)>,
}

impl SimError {
    fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        SimError { status, code: code.to_string(), message: message.into(), extra: Map::new(), headers: Vec::new() }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// A body that is not JSON, or not an object.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }

    /// Constraint failures, in the service's own wording and error name.
    pub fn validation(service: Service, problems: Vec<(String, String)>) -> Self {
        let n = problems.len();
        let message = format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            problems.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; ")
        );
        let err = Self::new(400, service.validation_error(), message);
        match service {
            Service::SecurityIr => err.with("reason", json!("FIELD_VALIDATION_FAILED")).with(
                "fieldList",
                Value::Array(problems.into_iter().map(|(name, message)| json!({"name": name, "message": message})).collect()),
            ),
            Service::GuardDuty => err.with("type", json!("InvalidInputException")),
            Service::Incidents => err,
            Service::Lambda => err.with("Type", json!("User")),
        }
    }

    /// A plain invalid-request answer with a custom message.
    pub fn invalid(service: Service, message: impl Into<String>) -> Self {
        let err = Self::new(400, service.validation_error(), message);
        match service {
            Service::SecurityIr => err.with("reason", json!("OTHER")),
            Service::GuardDuty => err.with("type", json!("InvalidInputException")),
            Service::Incidents => err,
            Service::Lambda => err.with("Type", json!("User")),
        }
    }

    /// The named resource does not exist.
    pub fn not_found(service: Service, message: impl Into<String>) -> Self {
        Self::new(404, "ResourceNotFoundException", message).with_type_for(service)
    }

    /// A conflicting write: a reused idempotency token with another body, or a duplicate.
    pub fn conflict(service: Service, message: impl Into<String>, resource: &str, resource_type: &str) -> Self {
        match service {
            // GuardDuty's model has no ConflictException; it answers bad request.
            Service::GuardDuty => Self::new(400, "BadRequestException", message).with("type", json!("IdempotencyConflict")),
            // Lambda's reads have no conflict; its model's nearest is a bad parameter.
            Service::Lambda => Self::new(400, "InvalidParameterValueException", message).with("Type", json!("User")),
            Service::SecurityIr => {
                Self::new(409, "ConflictException", message).with("resourceId", json!(resource)).with("resourceType", json!(resource_type))
            }
            // resourceType is an enum there (INCIDENT_RECORD, TIMELINE_EVENT, …): only a value of it is sent.
            Service::Incidents => {
                let err = Self::new(409, "ConflictException", message).with("resourceIdentifier", json!(resource));
                match resource_type {
                    "RESPONSE_PLAN" | "INCIDENT_RECORD" | "TIMELINE_EVENT" | "REPLICATION_SET" | "RESOURCE_POLICY" => {
                        err.with("resourceType", json!(resource_type))
                    }
                    _ => err,
                }
            }
        }
    }

    /// Throttling, with the members each service's shape requires.
    pub fn throttling(service: Service) -> Self {
        let err = Self::new(429, "ThrottlingException", "Rate exceeded");
        match service {
            Service::SecurityIr => {
                let mut err = err.with("serviceCode", json!("security-ir")).with("quotaCode", json!("sim-rate"));
                err.headers.push(("Retry-After".to_string(), "0".to_string()));
                err
            }
            Service::Incidents => err.with("serviceCode", json!("ssm-incidents")).with("quotaCode", json!("sim-rate")),
            Service::GuardDuty => err,
            Service::Lambda => Self::new(429, "TooManyRequestsException", "Rate exceeded").with("Type", json!("User")),
        }
    }

    /// An internal server error (HTTP 500).
    pub fn internal(service: Service) -> Self {
        let code = match service {
            Service::GuardDuty => "InternalServerErrorException",
            Service::Lambda => "ServiceException",
            _ => "InternalServerException",
        };
        Self::new(500, code, "Internal failure injected by the simulation").with_type_for(service)
    }

    /// A service quota refusal, as Security IR sends it (`ServiceQuotaExceededException`, HTTP 402).
    pub fn quota_exceeded(service: Service) -> Self {
        Self::new(402, "ServiceQuotaExceededException", "You have reached a service quota (injected by the simulation)")
            .with("serviceCode", json!(service.signing_name()))
            .with("resourceId", json!("case"))
            .with("resourceType", json!("Case"))
            .with("quotaCode", json!("sim-quota"))
    }

    /// A request the caller's policy does not allow (HTTP 403), as each service
    /// answers it: `AccessDeniedException` with a `message` (GuardDuty adds `type`).
    pub fn access_denied(service: Service, message: impl Into<String>) -> Self {
        Self::new(403, "AccessDeniedException", message).with_type_for(service)
    }

    /// An internal error that says what the simulation could not do (a defect
    /// of the simulation or its facts, never of the caller).
    pub fn internal_with(service: Service, message: impl Into<String>) -> Self {
        Self { message: message.into(), ..Self::internal(service) }
    }

    /// A request with no SigV4 authorization.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(403, "MissingAuthenticationTokenException", message)
    }

    /// A path and method that no operation serves.
    pub fn unknown_operation(method: &str, path: &str) -> Self {
        Self::new(404, "UnknownOperationException", format!("no operation serves {method} {path}"))
    }

    fn with_type_for(self, service: Service) -> Self {
        if service == Service::GuardDuty {
            let t = self.code.clone();
            self.with("type", json!(t))
        } else {
            self
        }
    }

    /// The JSON body of the answer.
    pub fn body(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("message".to_string(), json!(self.message));
        Value::Object(body)
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for SimError {}
