//! The function role's policy, read from `template.yaml` and resolved for one
//! stack, as CloudFormation would resolve it: parameters (their defaults, the
//! values given, each checked against `AllowedValues`/`AllowedPattern`), the
//! template's conditions, `!If`, `!Sub`, `!Ref`, `!GetAtt`, `!Join` and the
//! pseudo parameters. What the simulation enforces is therefore the policy a
//! real deployment of that stack would carry.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::policy::Statement;

/// The committed template, compiled in so that the simulation always enforces
/// the template of the same commit.
const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The function whose role is enforced.
pub const FUNCTION: &str = "EscalatorFunction";

/// One deployment of the template: where, and with which parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Partition`.
    pub partition: String,
    /// Parameter values given (the rest take their defaults).
    pub parameters: BTreeMap<String, String>,
    /// Physical ids of resources that `!Ref` or `!GetAtt` names (the ledger table's name).
    pub resources: BTreeMap<String, String>,
}

impl Default for Stack {
    /// The simulation's account and Region, every parameter at its default.
    fn default() -> Self {
        Stack {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            parameters: BTreeMap::new(),
            resources: BTreeMap::from([
                ("LedgerTable".to_string(), "investigation-escalator-ledger".to_string()),
                (FUNCTION.to_string(), "investigation-escalator".to_string()),
                (format!("{FUNCTION}Role"), "investigation-escalator-role".to_string()),
                ("DeadLetterQueue".to_string(), "investigation-escalator-DeadLetterQueue-SIM".to_string()),
                ("RequestBus".to_string(), "investigation-escalator-requests".to_string()),
            ]),
        }
    }
}

impl Stack {
    /// The same stack with one more parameter value.
    pub fn with(mut self, parameter: &str, value: &str) -> Self {
        self.parameters.insert(parameter.to_string(), value.to_string());
        self
    }

    /// The stack whose function would run with these environment variables:
    /// each variable the template sets from a parameter (`VAR: !Ref Param`)
    /// gives that parameter its value, and `LEDGER_TABLE` names the table.
    /// Variables the template does not set are left to the function.
    pub fn for_function_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Stack, String> {
        let template = Template::load()?;
        let env = &template.function()?["Properties"]["Environment"]["Variables"];
        let mut stack = Stack::default();
        for (var, value) in vars {
            // `!Ref X`, or `!If [cond, !Ref X, …]`: a value set means the branch that names X.
            let value_of = &env[var];
            let reference = value_of
                .get("Ref")
                .or_else(|| value_of.get("Fn::If").and_then(Value::as_array).and_then(|a| a.iter().skip(1).find_map(|b| b.get("Ref"))));
            let Some(name) = reference.and_then(Value::as_str) else { continue };
            if template.doc["Parameters"].get(name).is_some() {
                stack.parameters.insert(name.to_string(), value.to_string());
            } else if template.doc["Resources"].get(name).is_some() {
                stack.resources.insert(name.to_string(), value.to_string());
            }
        }
        // Fail here, naming the variable, rather than at the first request.
        template.parameters(&stack)?;
        Ok(stack)
    }

    /// Runs `f` with the template resolved for this stack (its parameters checked).
    fn resolving<T>(&self, f: impl FnOnce(&Resolver<'_>) -> Result<T, String>) -> Result<T, String> {
        let template = Template::load()?;
        f(&Resolver { template: &template, stack: self, parameters: template.parameters(self)? })
    }

    /// The function's ARN (unqualified).
    pub fn function_arn(&self) -> String {
        let name = self.resources.get(FUNCTION).map_or("investigation-escalator", String::as_str);
        format!("arn:{}:lambda:{}:{}:function:{name}", self.partition, self.region, self.account)
    }

    /// The function role's ARN (what `aws:PrincipalArn` is for the function's calls).
    pub fn role_arn(&self) -> String {
        let name = self.resources.get(&format!("{FUNCTION}Role")).map_or("investigation-escalator-role", String::as_str);
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account)
    }

    /// The ARN of every EventBridge rule SAM generates for the function's
    /// events (`EventBridgeRule` and `Schedule`), by event name.
    pub fn rule_arns(&self) -> Result<BTreeMap<String, String>, String> {
        self.resolving(|resolver| {
            let events = resolver.template.function()?["Properties"]["Events"].as_object().cloned().unwrap_or_default();
            let mut out = BTreeMap::new();
            for (name, event) in events {
                if matches!(event["Type"].as_str(), Some("EventBridgeRule" | "Schedule")) {
                    out.insert(name.clone(), resolver.get_att(&format!("{FUNCTION}{name}"), "Arn")?);
                }
            }
            Ok(out)
        })
    }

    /// The function's environment as CloudFormation sets it for this stack.
    pub fn function_environment(&self) -> Result<BTreeMap<String, String>, String> {
        let vars = self.resolving(|r| r.resolve(&r.template.function()?["Properties"]["Environment"]["Variables"]))?.unwrap_or(Value::Null);
        Ok(vars.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), text(v))).collect())
    }

    /// The deployed function as the simulation's Lambda serves it: its
    /// configuration (name, ARN, role, environment) and the resource policy SAM
    /// gives it, one `lambda:InvokeFunction` permission for each of its rules
    /// (`ArnLike` on `AWS:SourceArn`, as `GetPolicy` shows a permission).
    pub fn deployed_function(&self) -> Result<Value, String> {
        let arn = self.function_arn();
        let name = arn.rsplit(':').next().unwrap_or_default().to_string();
        let statements: Vec<Value> = self
            .rule_arns()?
            .into_iter()
            .map(|(event, rule)| {
                json!({
                    "Sid": format!("{FUNCTION}{event}Permission"),
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": arn,
                    "Condition": {"ArnLike": {"AWS:SourceArn": rule}},
                })
            })
            .collect();
        Ok(json!({
            "configuration": {
                "FunctionName": name,
                "FunctionArn": arn,
                "Role": self.role_arn(),
                "Environment": {"Variables": self.function_environment()?},
            },
            "policy": {"Version": "2012-10-17", "Id": "default", "Statement": statements},
        }))
    }

    /// The dead-letter queue's policy statements for this stack, each with the
    /// principals it names (a resource-based policy).
    pub fn dead_letter_queue_policy(&self) -> Result<Vec<(Principals, Statement)>, String> {
        let doc = self
            .resolving(|r| r.resolve(&r.template.doc["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]))?
            .unwrap_or(Value::Null);
        let mut out = Vec::new();
        for statement in doc["Statement"].as_array().ok_or("DeadLetterQueuePolicy: no Statement list")? {
            let mut rest = statement.as_object().cloned().ok_or("DeadLetterQueuePolicy: a statement is not an object")?;
            let principal = rest.remove("Principal").ok_or("DeadLetterQueuePolicy: a statement without Principal")?;
            out.push((Principals::parse(&principal)?, Statement::parse(&Value::Object(rest))?));
        }
        Ok(out)
    }

    /// The function role's policy statements for this stack.
    pub fn function_policy(&self) -> Result<Vec<Statement>, String> {
        let policies = self.resolving(|r| r.resolve(&r.template.function()?["Properties"]["Policies"]))?.unwrap_or(Value::Null);
        let mut statements = Vec::new();
        for policy in policies.as_array().ok_or("the function's Policies is not a list")? {
            let Some(doc) = policy.as_object() else {
                return Err(format!("{FUNCTION}: policy {policy} is not an inline policy document"));
            };
            match &doc.get("Statement") {
                Some(Value::Array(list)) => statements.extend(list.iter().map(Statement::parse).collect::<Result<Vec<_>, _>>()?),
                Some(one @ Value::Object(_)) => statements.push(Statement::parse(one)?),
                _ => return Err(format!("{FUNCTION}: a policy document without Statement")),
            }
        }
        Ok(statements)
    }
}

/// Whom a resource-based policy's statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone (conditions narrow it).
    Everyone,
    /// `{"Service": …}`: these service principals.
    Services(Vec<String>),
    /// `{"AWS": …}`: these accounts, roles or users.
    Aws(Vec<String>),
}

impl Principals {
    fn parse(v: &Value) -> Result<Principals, String> {
        let list = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                _ => Vec::new(),
            }
        };
        match v {
            Value::String(s) if s == "*" => Ok(Principals::Everyone),
            Value::Object(o) if o.len() == 1 && o.contains_key("Service") => Ok(Principals::Services(list(&o["Service"]))),
            Value::Object(o) if o.len() == 1 && o.contains_key("AWS") => {
                let names = list(&o["AWS"]);
                Ok(if names.iter().any(|n| n == "*") { Principals::Everyone } else { Principals::Aws(names) })
            }
            other => Err(format!("a Principal the simulation does not read: {other}")),
        }
    }
}

/// The template as JSON, with CloudFormation's short tags in their long form.
pub(crate) struct Template {
    pub(crate) doc: Value,
}

impl Template {
    pub(crate) fn load() -> Result<Template, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(TEMPLATE).map_err(|e| format!("template.yaml: {e}"))?;
        Ok(Template { doc: long_form(yaml)? })
    }

    fn function(&self) -> Result<&Value, String> {
        self.doc["Resources"].get(FUNCTION).ok_or_else(|| format!("template.yaml has no {FUNCTION}"))
    }

    /// Every parameter's value for `stack`, checked as CloudFormation checks it.
    fn parameters(&self, stack: &Stack) -> Result<BTreeMap<String, Value>, String> {
        let declared = self.doc["Parameters"].as_object().cloned().unwrap_or_default();
        if let Some(unknown) = stack.parameters.keys().find(|k| !declared.contains_key(*k)) {
            return Err(format!("template.yaml has no parameter {unknown}"));
        }
        let mut values = BTreeMap::new();
        for (name, decl) in &declared {
            let text = match (stack.parameters.get(name), &decl["Default"]) {
                (Some(v), _) => v.clone(),
                (None, Value::String(s)) => s.clone(),
                (None, Value::Number(n)) => n.to_string(),
                (None, _) => return Err(format!("parameter {name} has no default: give it a value")),
            };
            check_parameter(name, decl, &text)?;
            let value = if decl["Type"] == "CommaDelimitedList" {
                Value::Array(text.split(',').map(|s| json!(s.trim())).collect())
            } else {
                json!(text)
            };
            values.insert(name.clone(), value);
        }
        Ok(values)
    }
}

fn check_parameter(name: &str, decl: &Value, value: &str) -> Result<(), String> {
    let refuse = |why: String| Err(format!("parameter {name}={value:?}: {why} (CloudFormation refuses the stack)"));
    if let Some(allowed) = decl["AllowedValues"].as_array() {
        if !allowed.iter().any(|a| a.as_str() == Some(value) || a.as_f64().map(|f| f.to_string()).as_deref() == Some(value)) {
            return refuse(format!("not one of {}", Value::Array(allowed.clone())));
        }
    }
    if let Some(pattern) = decl["AllowedPattern"].as_str() {
        // CloudFormation matches the whole value.
        let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("parameter {name}: AllowedPattern: {e}"))?;
        if !re.is_match(value) {
            return refuse(format!("does not match {pattern}"));
        }
    }
    if decl["Type"] == "Number" {
        let n: f64 = value.parse().or_else(|_| refuse("not a number".into()).map(|()| 0.0))?;
        if decl["MinValue"].as_f64().is_some_and(|min| n < min) || decl["MaxValue"].as_f64().is_some_and(|max| n > max) {
            return refuse("out of range".into());
        }
    }
    Ok(())
}

/// YAML with `!Ref X` → `{"Ref": X}`, `!GetAtt A.B` → `{"Fn::GetAtt": [A, B]}`,
/// `!Condition C` → `{"Condition": C}`, `!Other v` → `{"Fn::Other": v}`.
fn long_form(v: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => json!(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => json!(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut o = Map::new();
            for (k, v) in m {
                let k = k.as_str().ok_or_else(|| format!("template.yaml: a key that is not a string: {k:?}"))?.to_string();
                o.insert(k, long_form(v)?);
            }
            Value::Object(o)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let inner = long_form(t.value)?;
            match (name.as_str(), inner) {
                ("Ref", inner) => json!({ "Ref": inner }),
                ("Condition", inner) => json!({ "Condition": inner }),
                ("GetAtt", Value::String(s)) => {
                    let (res, attr) = s.split_once('.').ok_or_else(|| format!("!GetAtt {s}: no attribute"))?;
                    json!({ "Fn::GetAtt": [res, attr] })
                }
                (_, inner) => json!({ format!("Fn::{name}"): inner }),
            }
        }
    })
}

struct Resolver<'a> {
    template: &'a Template,
    stack: &'a Stack,
    parameters: BTreeMap<String, Value>,
}

impl Resolver<'_> {
    /// The resolved value; `None` for `AWS::NoValue` (the member or item is dropped).
    fn resolve(&self, v: &Value) -> Result<Option<Value>, String> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(o) if o.len() == 1 => {
                let (k, arg) = o.iter().next().ok_or("unreachable")?;
                match k.as_str() {
                    "Ref" => self.reference(arg.as_str().ok_or("Ref of a non-string")?),
                    "Fn::If" => {
                        let [cond, yes, no] = arg.as_array().map(Vec::as_slice).unwrap_or_default() else {
                            return Err(format!("Fn::If takes [condition, then, else]: {arg}"));
                        };
                        let chosen = if self.condition(cond.as_str().ok_or("Fn::If condition name")?)? { yes } else { no };
                        self.resolve(chosen)
                    }
                    "Fn::Sub" => self.sub(arg).map(Some),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = arg.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                        let [res, attr] = parts[..] else { return Err(format!("Fn::GetAtt takes [resource, attribute]: {arg}")) };
                        self.get_att(res, attr).map(|s| Some(json!(s)))
                    }
                    "Fn::Join" => {
                        let [sep, list] = arg.as_array().map(Vec::as_slice).unwrap_or_default() else {
                            return Err(format!("Fn::Join takes [separator, list]: {arg}"));
                        };
                        let list = self.resolve(list)?.unwrap_or(Value::Null);
                        let parts: Vec<String> = list.as_array().into_iter().flatten().map(text).collect();
                        Ok(Some(json!(parts.join(sep.as_str().unwrap_or_default()))))
                    }
                    k if k.starts_with("Fn::") => Err(format!("{k} is not resolved by the simulation")),
                    _ => self.object(o),
                }
            }
            Value::Object(o) => self.object(o),
            other => Ok(Some(other.clone())),
        }
    }

    fn object(&self, o: &Map<String, Value>) -> Result<Option<Value>, String> {
        let mut out = Map::new();
        for (k, v) in o {
            if let Some(v) = self.resolve(v)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn reference(&self, name: &str) -> Result<Option<Value>, String> {
        let s = self.stack;
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Partition" => json!(s.partition),
            "AWS::Region" => json!(s.region),
            "AWS::AccountId" => json!(s.account),
            "AWS::StackName" => json!("investigation-escalator"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            _ => match (self.parameters.get(name), s.resources.get(name)) {
                (Some(v), _) => v.clone(),
                (None, Some(id)) => json!(id),
                (None, None) => return Err(format!("Ref {name}: neither a parameter nor a resource with a physical id in the stack")),
            },
        }))
    }

    fn get_att(&self, resource: &str, attribute: &str) -> Result<String, String> {
        if let Some(generated) = self.generated_att(resource, attribute) {
            return generated;
        }
        let s = self.stack;
        let id =
            s.resources.get(resource).ok_or_else(|| format!("GetAtt {resource}.{attribute}: the stack gives {resource} no physical id"))?;
        let kind = self.template.doc["Resources"][resource]["Type"].as_str().unwrap_or_default();
        match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => Ok(format!("arn:{}:dynamodb:{}:{}:table/{id}", s.partition, s.region, s.account)),
            ("AWS::SQS::Queue", "Arn") => Ok(format!("arn:{}:sqs:{}:{}:{id}", s.partition, s.region, s.account)),
            _ => Err(format!("GetAtt {resource}.{attribute} ({kind}) is not resolved by the simulation")),
        }
    }

    /// `!GetAtt` of a resource SAM generates from the function (its role, its
    /// events' rules), which the template names but does not declare.
    fn generated_att(&self, resource: &str, attribute: &str) -> Option<Result<String, String>> {
        let s = self.stack;
        let event_name = resource.strip_prefix(FUNCTION)?;
        if event_name == "Role" && attribute == "Arn" {
            return Some(Ok(s.role_arn()));
        }
        let event = self.template.function().ok()?.get("Properties")?.get("Events")?.get(event_name)?;
        if attribute != "Arn" || !matches!(event["Type"].as_str(), Some("EventBridgeRule" | "Schedule")) {
            return None;
        }
        // A rule on a custom bus has the bus in its ARN: rule/BUS/NAME.
        let bus = match self.resolve(&event["Properties"]["EventBusName"]) {
            Ok(Some(Value::String(bus))) if bus != "default" => format!("{bus}/"),
            Ok(_) => String::new(),
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(format!("arn:{}:events:{}:{}:rule/{bus}investigation-escalator-{resource}-SIM", s.partition, s.region, s.account)))
    }

    fn sub(&self, arg: &Value) -> Result<Value, String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(a) if a.len() == 2 => (a[0].as_str().ok_or("Fn::Sub text")?, a[1].as_object().cloned().unwrap_or_default()),
            _ => return Err(format!("Fn::Sub takes a string or [string, variables]: {arg}")),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').ok_or_else(|| format!("Fn::Sub {text}: unclosed ${{"))? + i;
            let name = &rest[i + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = vars.get(name) {
                out.push_str(&text_of(self.resolve(v)?));
            } else if let Some((res, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(res, attr)?);
            } else {
                out.push_str(&text_of(self.reference(name)?));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(json!(out))
    }

    fn condition(&self, name: &str) -> Result<bool, String> {
        let def = self.template.doc["Conditions"].get(name).ok_or_else(|| format!("no condition {name}"))?;
        self.truth(def)
    }

    fn truth(&self, v: &Value) -> Result<bool, String> {
        let o = v.as_object().filter(|o| o.len() == 1).ok_or_else(|| format!("not a condition: {v}"))?;
        let (k, arg) = o.iter().next().ok_or("unreachable")?;
        let list = || arg.as_array().cloned().unwrap_or_default();
        match k.as_str() {
            "Condition" => self.condition(arg.as_str().ok_or("Condition name")?),
            "Fn::Equals" => {
                let [a, b] = &list()[..] else { return Err(format!("Fn::Equals takes two values: {arg}")) };
                Ok(self.resolve(a)? == self.resolve(b)?)
            }
            "Fn::Not" => Ok(!self.truth(list().first().ok_or("Fn::Not takes one condition")?)?),
            "Fn::And" => list().iter().try_fold(true, |acc, c| Ok(acc & self.truth(c)?)),
            "Fn::Or" => list().iter().try_fold(false, |acc, c| Ok(acc | self.truth(c)?)),
            other => Err(format!("{other} is not a condition function")),
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn text_of(v: Option<Value>) -> String {
    v.as_ref().map(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::policy::{evaluate, Decision, Request};

    fn allowed(statements: &[Statement], action: &str, resource: &str) -> bool {
        matches!(
            evaluate(statements, &Request { action: action.into(), resource: resource.into(), context: BTreeMap::new() }),
            Decision::Allowed(_)
        )
    }

    #[test]
    fn the_default_stack_resolves_to_a_policy_without_the_conditional_grants() {
        let policy = Stack::default().function_policy().expect("policy");
        assert!(policy.iter().all(|s| s.sid.is_some()), "every statement has a Sid");
        let plan = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";
        assert!(!allowed(&policy, "ssm-incidents:StartIncident", plan), "no response plan, no StartIncident");
        assert!(!allowed(&policy, "guardduty:CreateInvestigation", "*"), "investigations are started only when enabled");
        assert!(allowed(&policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/investigation-escalator-ledger"));
        assert!(!allowed(&policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other"));
    }

    #[test]
    fn conditional_branches_follow_the_parameters() {
        let plan = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";
        let stack = Stack::default().with("IncidentResponsePlanArn", plan).with("StartInvestigations", "true");
        let policy = stack.function_policy().expect("policy");
        assert!(allowed(&policy, "ssm-incidents:StartIncident", plan));
        assert!(!allowed(&policy, "ssm-incidents:StartIncident", "arn:aws:ssm-incidents::123456789012:response-plan/Other"));
        assert!(allowed(&policy, "guardduty:CreateInvestigation", "*"));
    }

    #[test]
    fn the_function_env_names_the_stack() {
        let stack = Stack::for_function_env([("DETECTOR_ID", "12abc"), ("LEDGER_TABLE", "t"), ("RUST_LOG", "debug")]).expect("stack");
        assert_eq!(stack.parameters.get("DetectorId").map(String::as_str), Some("12abc"));
        assert_eq!(stack.resources.get("LedgerTable").map(String::as_str), Some("t"));
        let err = Stack::for_function_env([("RISK_THRESHOLD", "Severe")]).expect_err("not an allowed value");
        assert!(err.contains("RiskThreshold") && err.contains("Severe"), "{err}");
        let err = Stack::for_function_env([("DETECTOR_ID", "no-hyphens-allowed")]).expect_err("pattern");
        assert!(err.contains("DetectorId"), "{err}");
    }

    #[test]
    fn sub_if_and_pseudo_parameters_resolve() {
        let template = Template::load().expect("template");
        let stack = Stack { region: "eu-west-1".into(), ..Stack::default() }.with("SecurityIrRegion", "eu-central-1");
        let r = Resolver { template: &template, stack: &stack, parameters: template.parameters(&stack).expect("parameters") };
        let v = json!({"Fn::Sub": ["arn:${AWS::Partition}:x:${R}:${AWS::AccountId}:${!Literal}", {"R": {"Fn::If": ["HasSecurityIrRegion", {"Ref": "SecurityIrRegion"}, {"Ref": "AWS::Region"}]}}]});
        assert_eq!(r.resolve(&v).expect("resolves"), Some(json!("arn:aws:x:eu-central-1:123456789012:${Literal}")));
        assert_eq!(r.resolve(&json!([{"Ref": "AWS::NoValue"}, 1])).expect("resolves"), Some(json!([1])));
        assert!(r.resolve(&json!({"Fn::Base64": "x"})).is_err(), "an unknown function is an error, never passed through");
    }
}
