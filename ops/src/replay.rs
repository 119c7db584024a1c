//! `replay`: dead letters through the handler's flow, one invocation each, as
//! the deployed function is configured, with the result of each.
//!
//! A file holds dead-letter queue messages (the output of
//! `aws sqs receive-message --message-attribute-names All`, `Messages[]`; an
//! SQS event, `Records[]`; one message; a JSON array or one per line of
//! those), or saved Lambda failure records. Only two kinds run, because only
//! two kinds are what this stack put in its queue:
//!
//! - a Lambda failure record (an `OnFailure` destination's message) whose
//!   `requestContext.functionArn` is the deployed function: its `requestPayload`
//!   is the event;
//! - an EventBridge dead letter (the message is the event; its `RULE_ARN`
//!   attribute names the rule) of a rule the function's resource policy lets
//!   invoke it, aimed at it (`TARGET_ARN`).
//!
//! Anything else (a bare event, another function's record, another rule's
//! letter) is refused by name and runs nothing: the queue's policy admits no
//! other sender, so such a message did not come from this stack. Replay
//! writes only with the ledger, and with the function's own configuration
//! (`GetFunctionConfiguration`); a configuration variable set differently in
//! the shell or a flag stops it before anything runs.

use std::time::Duration;

use investigation_escalator::{run as handle, App};
use serde_json::{json, Map, Value};

use crate::function::{unqualified, Deployed};
use crate::{files, Ended, Failure};

/// The most events one file may hold (a file is read whole; this bounds the work).
pub const MAX_EVENTS_PER_FILE: usize = 10_000;

/// `replay FILE...`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files of dead-letter queue messages (or saved Lambda failure records).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// The deployed function (name or ARN): replay runs with its configuration,
    /// and only its failure records and its rules' dead letters. With
    /// --simulate, the simulated stack's function.
    #[arg(long, env = "ESCALATOR_FUNCTION", value_name = "NAME|ARN")]
    pub function: Option<String>,
    /// Each invocation's time budget, in seconds (the template's function timeout is 60).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=900))]
    budget_seconds: u64,
    /// Print one JSON object per event instead of text.
    #[arg(long)]
    json: bool,
}

/// Where a dead letter says it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A Lambda failure record of this function ARN (as the record names it).
    FailureRecord {
        /// `requestContext.functionArn`.
        function_arn: String,
    },
    /// An EventBridge dead letter of this rule.
    RuleDeadLetter {
        /// The `RULE_ARN` attribute.
        rule_arn: String,
        /// The `TARGET_ARN` attribute, when present.
        target_arn: Option<String>,
    },
    /// Neither: a bare event, or a message without the attributes of a dead letter.
    Unvouched,
}

/// One dead letter of a file: the event it holds and where it says it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    /// Where it came from.
    pub origin: Origin,
    /// The event to run.
    pub event: Value,
}

/// Runs `replay`: every letter of every file, in order; a file that cannot be
/// read, or a letter that is not this function's, is named and the others still run.
pub async fn run(app: &App, deployed: &Deployed, args: &Args) -> Result<Ended, Failure> {
    let mut ended = Ended::Done;
    let mut n = 0usize;
    for path in &args.files {
        let letters = match files::read(path).and_then(|text| letters_in(&text)) {
            Ok(letters) => letters,
            Err(e) => {
                report(args.json, path, &json!({"error": "UnreadableFile", "message": e}));
                ended = Ended::Failed;
                continue;
            }
        };
        for (index, letter) in letters.iter().enumerate() {
            n += 1;
            let name = if letters.len() == 1 { path.clone() } else { format!("{path}#{}", index + 1) };
            if let Err(why) = admit(&letter.origin, deployed) {
                report(args.json, &name, &json!({"error": "NotThisFunctionsDeadLetter", "message": why}));
                ended = Ended::Failed;
                continue;
            }
            let invocation = app.invocation(format!("replay-{}-{n}", std::process::id()), Duration::from_secs(args.budget_seconds));
            let result = match handle(app, &letter.event, &invocation).await {
                Ok(outcome) => serde_json::to_value(&outcome).unwrap_or(Value::Null),
                Err(e) => {
                    ended = Ended::Failed;
                    json!({"error": e.kind(), "message": e.to_string()})
                }
            };
            report(args.json, &name, &result);
        }
    }
    Ok(ended)
}

fn report(json: bool, name: &str, result: &Value) {
    if json {
        println!("{}", json!({"event": name, "result": result}));
    } else {
        println!("{name}: {}", serde_json::to_string_pretty(result).unwrap_or_default());
    }
}

/// Whether a letter from `origin` is the deployed function's to run, and why not.
pub fn admit(origin: &Origin, deployed: &Deployed) -> Result<(), String> {
    match origin {
        Origin::FailureRecord { function_arn } => match unqualified(function_arn) {
            Some(arn) if arn == deployed.arn => Ok(()),
            _ => Err(format!("a failure record of {function_arn:?}, not of the function {}", deployed.arn)),
        },
        Origin::RuleDeadLetter { rule_arn, target_arn } => {
            if !deployed.rules.contains(rule_arn) {
                return Err(format!("a dead letter of rule {rule_arn:?}, which the function {} does not let invoke it", deployed.arn));
            }
            match target_arn {
                Some(target) if unqualified(target) != Some(deployed.arn.as_str()) => {
                    Err(format!("a dead letter of rule {rule_arn} for target {target:?}, not the function {}", deployed.arn))
                }
                _ => Ok(()),
            }
        }
        Origin::Unvouched => Err(format!(
            "neither a Lambda failure record nor an EventBridge dead letter (a message with a RULE_ARN attribute) of the function {}: \
             nothing in the dead-letter queue looks like this. To run an event you wrote, invoke the function itself \
             (aws lambda invoke), which IAM authorizes",
            deployed.arn
        )),
    }
}

/// The dead letters a file holds (see the module doc for the shapes).
pub fn letters_in(text: &str) -> Result<Vec<Letter>, String> {
    let values = match serde_json::from_str::<Value>(text) {
        Ok(value) => vec![value],
        // Not one JSON document: one per line (blank lines ignored).
        Err(whole) => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e}); the file as a whole: {whole}", i + 1))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut letters = Vec::new();
    for value in values {
        unwrap_into(value, &mut letters)?;
    }
    if letters.is_empty() {
        return Err("no events in the file".into());
    }
    if letters.len() > MAX_EVENTS_PER_FILE {
        return Err(format!("{} events: at most {MAX_EVENTS_PER_FILE} per file (split it)", letters.len()));
    }
    Ok(letters)
}

/// Takes the letters out of one JSON value: an array's elements, queue
/// messages, or the value itself (a saved failure record, or a bare event).
fn unwrap_into(value: Value, letters: &mut Vec<Letter>) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            for item in items {
                unwrap_into(item, letters)?;
            }
            Ok(())
        }
        Value::Object(obj) => {
            // `aws sqs receive-message` output, or an SQS event.
            for key in ["Messages", "Records"] {
                if let Some(Value::Array(messages)) = obj.get(key) {
                    for message in messages {
                        letters.push(message_letter(message)?);
                    }
                    return Ok(());
                }
            }
            let is_message = obj.contains_key("MessageId") || obj.contains_key("messageId");
            letters.push(if is_message { message_letter(&Value::Object(obj))? } else { letter_of(Value::Object(obj), None) });
            Ok(())
        }
        other => {
            letters.push(letter_of(other, None));
            Ok(())
        }
    }
}

/// A queue message: its body parsed, with its attributes.
fn message_letter(message: &Value) -> Result<Letter, String> {
    let id = message.get("MessageId").or_else(|| message.get("messageId")).and_then(Value::as_str).unwrap_or("(no id)");
    let body =
        message.get("Body").or_else(|| message.get("body")).and_then(Value::as_str).ok_or_else(|| format!("message {id}: no Body"))?;
    let body = serde_json::from_str(body).map_err(|e| format!("message {id}: its body is not JSON: {e}"))?;
    let attributes = message.get("MessageAttributes").or_else(|| message.get("messageAttributes")).and_then(Value::as_object);
    Ok(letter_of(body, attributes))
}

/// A string attribute of a message, as the CLI (`StringValue`) or an SQS event (`stringValue`) spells it.
fn attribute<'a>(attributes: Option<&'a Map<String, Value>>, name: &str) -> Option<&'a str> {
    let a = attributes?.get(name)?;
    a.get("StringValue").or_else(|| a.get("stringValue")).and_then(Value::as_str)
}

/// The letter a value is: a Lambda failure record gives the event in its
/// `requestPayload`; a message with `RULE_ARN` is an EventBridge dead letter;
/// anything else is unvouched for.
fn letter_of(value: Value, attributes: Option<&Map<String, Value>>) -> Letter {
    let is_record = value.get("requestContext").is_some() && value.get("requestPayload").is_some();
    match value {
        Value::Object(mut record) if is_record => {
            let function_arn = record["requestContext"]["functionArn"].as_str().unwrap_or_default().to_string();
            Letter { origin: Origin::FailureRecord { function_arn }, event: record.remove("requestPayload").unwrap_or(Value::Null) }
        }
        event => {
            let origin = match attribute(attributes, "RULE_ARN") {
                Some(rule) => Origin::RuleDeadLetter {
                    rule_arn: rule.to_string(),
                    target_arn: attribute(attributes, "TARGET_ARN").map(str::to_string),
                },
                None => Origin::Unvouched,
            };
            Letter { origin, event }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:investigation-escalator";
    const RULE: &str = "arn:aws:events:us-east-1:123456789012:rule/investigation-escalator-EscalatorFunctionCaseClosed-X";

    fn events(text: &str) -> Result<Vec<Value>, String> {
        letters_in(text).map(|l| l.into_iter().map(|l| l.event).collect())
    }

    fn deployed() -> Deployed {
        Deployed { arn: FUNCTION.into(), env: BTreeMap::new(), rules: BTreeSet::from([RULE.to_string()]) }
    }

    fn record(function_arn: &str, payload: Value) -> Value {
        json!({
            "version": "1.0",
            "timestamp": "2026-11-20T10:00:00.000Z",
            "requestContext": {"requestId": "r-1", "functionArn": function_arn, "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "AwsCallFailed"}
        })
    }

    #[test]
    fn one_value_an_array_and_lines_are_read() {
        assert_eq!(events(r#"{"a":1}"#), Ok(vec![json!({"a": 1})]));
        assert_eq!(events(r#"[{"a":1},{"a":2}]"#), Ok(vec![json!({"a": 1}), json!({"a": 2})]));
        assert_eq!(events("{\"a\":1}\n\n{\"a\":2}\n"), Ok(vec![json!({"a": 1}), json!({"a": 2})]));
    }

    #[test]
    fn failure_records_give_the_event_they_hold_and_the_function_they_name() {
        let payload = json!({"detectorId": "d", "investigationId": "1"});
        let received =
            json!({"Messages": [{"MessageId": "m-1", "Body": record(&format!("{FUNCTION}:$LATEST"), payload.clone()).to_string()}]});
        let letters = letters_in(&received.to_string()).expect("messages");
        assert_eq!(
            letters,
            vec![Letter { origin: Origin::FailureRecord { function_arn: format!("{FUNCTION}:$LATEST") }, event: payload.clone() }]
        );
        assert_eq!(admit(&letters[0].origin, &deployed()), Ok(()), "the qualifier is not part of the function");
        let saved = letters_in(&record(FUNCTION, payload.clone()).to_string()).expect("a saved record");
        assert_eq!(saved[0].event, payload);
        // An event that merely has a member named requestPayload is no record.
        let event = json!({"requestPayload": 1});
        assert_eq!(letters_in(&event.to_string()), Ok(vec![Letter { origin: Origin::Unvouched, event }]));
    }

    #[test]
    fn rule_dead_letters_are_known_by_their_attributes_as_the_cli_and_an_sqs_event_spell_them() {
        let cli = json!({"Messages": [{"MessageId": "m-1", "Body": "{\"x\":1}", "MessageAttributes": {
            "RULE_ARN": {"StringValue": RULE, "DataType": "String"},
            "TARGET_ARN": {"StringValue": FUNCTION, "DataType": "String"},
            "ERROR_CODE": {"StringValue": "SDK_CLIENT_ERROR", "DataType": "String"}}}]});
        let sqs_event = json!({"Records": [{"messageId": "m-2", "body": "{\"x\":2}", "messageAttributes": {
            "RULE_ARN": {"stringValue": RULE, "dataType": "String"}}}]});
        for (file, x) in [(cli, 1), (sqs_event, 2)] {
            let letters = letters_in(&file.to_string()).expect("letters");
            assert_eq!(letters[0].event, json!({"x": x}));
            assert!(matches!(&letters[0].origin, Origin::RuleDeadLetter { rule_arn, .. } if rule_arn == RULE), "{letters:?}");
            assert_eq!(admit(&letters[0].origin, &deployed()), Ok(()));
        }
    }

    #[test]
    fn only_this_functions_records_and_its_rules_letters_are_admitted() {
        let refused = [
            (Origin::Unvouched, "neither a Lambda failure record nor an EventBridge dead letter"),
            (Origin::FailureRecord { function_arn: FUNCTION.replace("investigation-escalator", "other") }, "not of the function"),
            (Origin::FailureRecord { function_arn: String::new() }, "not of the function"),
            (Origin::FailureRecord { function_arn: format!("{FUNCTION}-evil") }, "not of the function"),
            (Origin::RuleDeadLetter { rule_arn: RULE.replace("CaseClosed", "Forged"), target_arn: None }, "does not let invoke it"),
            (Origin::RuleDeadLetter { rule_arn: RULE.into(), target_arn: Some(FUNCTION.replace("escalator", "x")) }, "for target"),
        ];
        for (origin, why) in refused {
            let refusal = admit(&origin, &deployed()).expect_err("refused");
            assert!(refusal.contains(why), "{origin:?}: {refusal}");
        }
        let bare = letters_in(r#"{"MessageId": "m", "Body": "{\"detail-type\": \"Case Closed\"}"}"#).expect("a message");
        assert_eq!(bare[0].origin, Origin::Unvouched, "a message without attributes is a forgery's shape");
    }

    #[test]
    fn an_object_whose_messages_are_not_a_list_is_an_event_unchanged() {
        let odd = json!({"Messages": "none", "detail": {}});
        assert_eq!(events(&odd.to_string()), Ok(vec![odd]));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        assert!(letters_in("").unwrap_err().contains("no events"));
        assert!(letters_in("{\"a\":1}\nnot json").unwrap_err().starts_with("line 2: not JSON"));
        let bad_body = json!({"Messages": [{"MessageId": "m-9", "Body": "{oops"}]});
        assert!(letters_in(&bad_body.to_string()).unwrap_err().starts_with("message m-9: its body is not JSON"));
        let no_body = json!({"Messages": [{"MessageId": "m-8"}]});
        assert_eq!(letters_in(&no_body.to_string()), Err("message m-8: no Body".into()));
        assert!(letters_in("[]").unwrap_err().contains("no events"));
    }

    #[test]
    fn a_file_with_too_many_events_is_refused() {
        let many = Value::Array(vec![json!({}); MAX_EVENTS_PER_FILE + 1]).to_string();
        assert!(letters_in(&many).unwrap_err().contains("at most"));
    }
}
