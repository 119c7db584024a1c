//! IAM policy statements and their evaluation, as the IAM User Guide's
//! "Policy evaluation logic" describes it for one identity-based policy: an
//! explicit `Deny` that matches wins, else an `Allow` that matches allows,
//! else the request is implicitly denied.
//!
//! A statement matches a request when its `Action` (or `NotAction`), its
//! `Resource` (or `NotResource`) and every one of its conditions match. The
//! condition operators are the string, ARN, `Bool` and `Null` ones, with
//! `…IfExists` and the `ForAllValues:`/`ForAnyValue:` set qualifiers; a policy
//! using any other operator is refused when it is loaded, never guessed at.

use std::collections::BTreeMap;

use serde_json::Value;

/// One authorization request: an action on one resource, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `prefix:Action`, e.g. `security-ir:CreateCase`.
    pub action: String,
    /// The resource ARN, or `*` for an action without resource types.
    pub resource: String,
    /// Condition keys present in the request, lower-cased, with their values.
    pub context: BTreeMap<String, Vec<String>>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement's `Sid`, for messages.
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// `Action` patterns (or `NotAction`, when `not_action`).
    pub actions: Vec<String>,
    /// True for `NotAction`.
    pub not_action: bool,
    /// `Resource` patterns (or `NotResource`, when `not_resource`).
    pub resources: Vec<String>,
    /// True for `NotResource`.
    pub not_resource: bool,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// One operator-key-values triple of a `Condition` block.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The operator as written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    op: Op,
    negated: bool,
    if_exists: bool,
    set: Option<SetQualifier>,
    /// The condition key, lower-cased (IAM's key names are case-insensitive).
    pub key: String,
    /// The policy's values (any one may match).
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// A string or a list of strings, as policy elements allow.
fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("{what}: {i} is not a string"))).collect()
        }
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        other => Err(format!("{what}: {other} is neither a string nor a list of strings")),
    }
}

impl Condition {
    fn parse(operator: &str, key: &str, values: &Value) -> Result<Condition, String> {
        let (set, rest) = match operator.split_once(':') {
            Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
            Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
            Some((q, _)) => return Err(format!("condition operator {operator}: unknown set qualifier {q}")),
            None => (None, operator),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let (op, negated) = match base {
            "StringEquals" => (Op::StringEquals, false),
            "StringNotEquals" => (Op::StringEquals, true),
            "StringEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, true),
            "StringLike" => (Op::StringLike, false),
            "StringNotLike" => (Op::StringLike, true),
            "ArnEquals" | "ArnLike" => (Op::ArnLike, false),
            "ArnNotEquals" | "ArnNotLike" => (Op::ArnLike, true),
            "Bool" => (Op::Bool, false),
            "Null" if !if_exists && set.is_none() => (Op::Null, false),
            _ => return Err(format!("condition operator {operator} is not one the simulation evaluates")),
        };
        Ok(Condition {
            operator: operator.to_string(),
            op,
            negated,
            if_exists,
            set,
            key: key.to_ascii_lowercase(),
            values: strings(values, &format!("condition {operator} {key}"))?,
        })
    }

    fn value_matches(&self, policy: &str, request: &str) -> bool {
        match self.op {
            Op::StringEquals => policy == request,
            Op::StringEqualsIgnoreCase => policy.eq_ignore_ascii_case(request),
            Op::StringLike => glob(policy, request, false),
            Op::ArnLike => arn_like(policy, request),
            Op::Bool => policy.eq_ignore_ascii_case(request),
            Op::Null => false,
        }
    }

    /// Whether the condition holds for the request's context (IAM User Guide,
    /// "IAM JSON policy elements: Condition operators" and "Multivalued context keys").
    pub fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        let present = context.get(&self.key).filter(|v| !v.is_empty());
        if self.op == Op::Null {
            // Null: "true" asks for the key to be absent, "false" for it to be present.
            return self.values.iter().any(|v| v.eq_ignore_ascii_case("true") == present.is_none());
        }
        let any = |request: &str| self.values.iter().any(|p| self.value_matches(p, request));
        match (self.set, present) {
            // A missing key: ForAllValues holds (nothing fails), ForAnyValue does not.
            (Some(SetQualifier::ForAllValues), None) => true,
            (Some(SetQualifier::ForAnyValue), None) => false,
            (Some(SetQualifier::ForAllValues), Some(vals)) => vals.iter().all(|v| any(v) != self.negated),
            (Some(SetQualifier::ForAnyValue), Some(vals)) => vals.iter().any(|v| any(v) != self.negated),
            // A missing single-valued key matches nothing: a positive operator is
            // false, a negated one true; …IfExists holds either way.
            (None, None) => self.if_exists || self.negated,
            (None, Some(vals)) => vals.iter().any(|v| any(v)) != self.negated,
        }
    }
}

impl Statement {
    /// Reads a statement of a resolved policy document.
    pub fn parse(value: &Value) -> Result<Statement, String> {
        let sid = value["Sid"].as_str().map(str::to_string);
        let name = sid.clone().unwrap_or_else(|| "a statement without Sid".to_string());
        let o = value.as_object().ok_or_else(|| format!("{name}: a statement is an object"))?;
        for key in o.keys() {
            if !["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"].contains(&key.as_str()) {
                return Err(format!("{name}: {key} is not an element of an identity-based policy statement"));
            }
        }
        let effect = match value["Effect"].as_str() {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("{name}: Effect is {other:?}, not Allow or Deny")),
        };
        let one_of = |a: &str, b: &str| -> Result<(Vec<String>, bool), String> {
            match (o.get(a), o.get(b)) {
                (Some(v), None) => Ok((strings(v, &format!("{name}: {a}"))?, false)),
                (None, Some(v)) => Ok((strings(v, &format!("{name}: {b}"))?, true)),
                _ => Err(format!("{name}: exactly one of {a} and {b}")),
            }
        };
        let (actions, not_action) = one_of("Action", "NotAction")?;
        let (resources, not_resource) = one_of("Resource", "NotResource")?;
        let mut conditions = Vec::new();
        if let Some(block) = o.get("Condition") {
            let block = block.as_object().ok_or_else(|| format!("{name}: Condition is an object"))?;
            for (operator, keys) in block {
                let keys = keys.as_object().ok_or_else(|| format!("{name}: Condition {operator} is an object of keys"))?;
                for (key, values) in keys {
                    conditions.push(Condition::parse(operator, key, values).map_err(|e| format!("{name}: {e}"))?);
                }
            }
        }
        Ok(Statement { sid, effect, actions, not_action, resources, not_resource, conditions })
    }

    /// Whether the statement's action element matches `action`.
    pub fn names_action(&self, action: &str) -> bool {
        self.actions.iter().any(|p| glob(p, action, true)) != self.not_action
    }

    /// Whether the statement applies to the request.
    pub fn matches(&self, request: &Request) -> bool {
        self.names_action(&request.action)
            && (self.resources.iter().any(|p| glob(p, &request.resource, false)) != self.not_resource)
            && self.conditions.iter().all(|c| c.holds(&request.context))
    }
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An Allow matched and no Deny did (the Allow's Sid).
    Allowed(Option<String>),
    /// A Deny matched (its Sid).
    ExplicitlyDenied(Option<String>),
    /// No statement allows it.
    ImplicitlyDenied,
}

/// Evaluates `request` against `statements`.
pub fn evaluate(statements: &[Statement], request: &Request) -> Decision {
    if let Some(deny) = statements.iter().find(|s| s.effect == Effect::Deny && s.matches(request)) {
        return Decision::ExplicitlyDenied(deny.sid.clone());
    }
    match statements.iter().find(|s| s.effect == Effect::Allow && s.matches(request)) {
        Some(allow) => Decision::Allowed(allow.sid.clone()),
        None => Decision::ImplicitlyDenied,
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (pattern.to_lowercase().chars().collect(), text.to_lowercase().chars().collect())
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative match with one backtrack point: linear in practice, never recursive.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `ArnLike`: each of the six colon-separated parts matched on its own (the
/// resource part keeps its colons).
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(action: &str, resource: &str, context: &[(&str, &[&str])]) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: context.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.iter().map(|s| s.to_string()).collect())).collect(),
        }
    }

    fn statement(v: Value) -> Statement {
        Statement::parse(&v).expect("statement")
    }

    #[test]
    fn wildcards_match_as_iam_matches_them() {
        assert!(glob("arn:aws:ssm-incidents::1:incident-record/*", "arn:aws:ssm-incidents::1:incident-record/a/b", false));
        assert!(glob("guardduty:Get*", "guardduty:getinvestigation", true));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(!glob("arn:aws:guardduty:r:1:detector/*", "*", false), "a detector pattern never matches the * resource");
        assert!(glob("*", "*", false));
        assert!(!glob("Case/*", "case/1", false), "resources are case-sensitive");
    }

    #[test]
    fn a_resource_pattern_of_a_detector_does_not_grant_an_action_authorized_on_star() {
        let s = statement(json!({"Effect": "Allow", "Action": ["guardduty:GetInvestigation"],
            "Resource": "arn:aws:guardduty:us-east-1:123456789012:detector/*"}));
        assert_eq!(evaluate(std::slice::from_ref(&s), &request("guardduty:GetInvestigation", "*", &[])), Decision::ImplicitlyDenied);
        let star = statement(json!({"Sid": "Star", "Effect": "Allow", "Action": "guardduty:GetInvestigation", "Resource": "*"}));
        assert_eq!(evaluate(&[s, star], &request("guardduty:GetInvestigation", "*", &[])), Decision::Allowed(Some("Star".into())));
    }

    #[test]
    fn an_explicit_deny_wins() {
        let allow = statement(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        let deny = statement(json!({"Sid": "No", "Effect": "Deny", "NotAction": "guardduty:Get*", "Resource": "*"}));
        let statements = [allow, deny];
        assert_eq!(
            evaluate(&statements, &request("guardduty:ListInvestigations", "*", &[])),
            Decision::ExplicitlyDenied(Some("No".into()))
        );
        assert_eq!(evaluate(&statements, &request("guardduty:GetFindings", "*", &[])), Decision::Allowed(None));
    }

    #[test]
    fn tag_conditions_need_the_key_in_the_context() {
        let s = statement(json!({"Effect": "Allow", "Action": "security-ir:UpdateCase", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/created-by": "investigation-escalator"}}}));
        let ours = request("security-ir:UpdateCase", "c", &[("aws:ResourceTag/created-by", &["investigation-escalator"])]);
        let theirs = request("security-ir:UpdateCase", "c", &[("aws:ResourceTag/created-by", &["someone"])]);
        let untagged = request("security-ir:UpdateCase", "c", &[]);
        assert!(s.matches(&ours));
        assert!(!s.matches(&theirs));
        assert!(!s.matches(&untagged), "a missing key never equals");
    }

    #[test]
    fn negated_if_exists_null_and_set_operators() {
        let ctx_tags: &[(&str, &[&str])] = &[("aws:TagKeys", &["created-by", "team"])];
        let cond = |op: &str, key: &str, v: Value| Condition::parse(op, key, &v).expect("operator");
        let ctx = |pairs: &[(&str, &[&str])]| request("x:Y", "*", pairs).context;
        assert!(cond("StringNotEquals", "aws:RequestTag/a", json!("b")).holds(&ctx(&[])), "negated: missing key holds");
        assert!(!cond("StringEquals", "aws:RequestTag/a", json!("b")).holds(&ctx(&[])));
        assert!(cond("StringEqualsIfExists", "aws:RequestTag/a", json!("b")).holds(&ctx(&[])));
        assert!(!cond("StringEqualsIfExists", "aws:RequestTag/a", json!("b")).holds(&ctx(&[("aws:RequestTag/a", &["c"])])));
        assert!(cond("Null", "aws:RequestTag/a", json!("true")).holds(&ctx(&[])));
        assert!(!cond("Null", "aws:RequestTag/a", json!("false")).holds(&ctx(&[])));
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", json!(["created-by", "team"])).holds(&ctx(ctx_tags)));
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", json!(["created-by"])).holds(&ctx(ctx_tags)));
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", json!(["created-by"])).holds(&ctx(&[])), "empty set: all hold");
        assert!(cond("ForAnyValue:StringLike", "aws:TagKeys", json!("cre*")).holds(&ctx(ctx_tags)));
        assert!(!cond("ForAnyValue:StringLike", "aws:TagKeys", json!("cre*")).holds(&ctx(&[])));
        assert!(cond("ArnLike", "aws:PrincipalArn", json!("arn:aws:iam::*:role/x"))
            .holds(&ctx(&[("aws:PrincipalArn", &["arn:aws:iam::1:role/x"])])));
        assert!(
            cond("StringEqualsIgnoreCase", "AWS:REQUESTTAG/A", json!("B")).holds(&ctx(&[("aws:RequestTag/a", &["b"])])),
            "keys are case-insensitive"
        );
    }

    #[test]
    fn a_policy_iam_would_not_read_is_refused_not_guessed() {
        for bad in [
            json!({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}}),
            json!({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"ForSome:StringEquals": {"k": "1"}}}),
            json!({"Effect": "Permit", "Action": "a:b", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "a:b", "NotAction": "a:c", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "a:b"}),
            json!({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Principal": "*"}),
        ] {
            assert!(Statement::parse(&bad).is_err(), "{bad}");
        }
    }
}
