//! `replay`: event files through the handler's flow, one invocation each, with
//! the result of each. A file holds one event, a JSON array of events, one
//! event per line, or dead-letter queue messages: the output of
//! `aws sqs receive-message` (`Messages[].Body`) or an SQS event
//! (`Records[].body`). A body (or a file) may be the event itself or, as the
//! template's dead-letter queue holds them, a Lambda failure record whose
//! `requestPayload` is the event.

use std::time::Duration;

use investigation_escalator::{run as handle, App};
use serde_json::{json, Value};

use crate::{files, Ended, Failure};

/// The most events one file may hold (a file is read whole; this bounds the work).
pub const MAX_EVENTS_PER_FILE: usize = 10_000;

/// `replay FILE...`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files of events or dead-letter queue messages.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Each invocation's time budget, in seconds (the template's function timeout is 60).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=900))]
    budget_seconds: u64,
    /// Print one JSON object per event instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `replay`: every event of every file, in order; a file that cannot be
/// read is named and the others still run.
pub async fn run(app: &App, args: &Args) -> Result<Ended, Failure> {
    let mut ended = Ended::Done;
    let mut n = 0usize;
    for path in &args.files {
        let events = match files::read(path).and_then(|text| events_in(&text)) {
            Ok(events) => events,
            Err(e) => {
                report(args.json, path, &json!({"error": "UnreadableFile", "message": e}));
                ended = Ended::Failed;
                continue;
            }
        };
        for (index, event) in events.iter().enumerate() {
            n += 1;
            let name = if events.len() == 1 { path.clone() } else { format!("{path}#{}", index + 1) };
            let invocation = app.invocation(format!("replay-{}-{n}", std::process::id()), Duration::from_secs(args.budget_seconds));
            let result = match handle(app, event, &invocation).await {
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

/// The events a file holds (see the module doc for the shapes).
pub fn events_in(text: &str) -> Result<Vec<Value>, String> {
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
    let mut events = Vec::new();
    for value in values {
        unwrap_into(value, &mut events)?;
    }
    if events.is_empty() {
        return Err("no events in the file".into());
    }
    if events.len() > MAX_EVENTS_PER_FILE {
        return Err(format!("{} events: at most {MAX_EVENTS_PER_FILE} per file (split it)", events.len()));
    }
    Ok(events)
}

/// Takes the events out of one JSON value: an array's elements, queue messages'
/// bodies, or the value itself.
fn unwrap_into(value: Value, events: &mut Vec<Value>) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            for item in items {
                unwrap_into(item, events)?;
            }
            Ok(())
        }
        Value::Object(obj) => {
            // `aws sqs receive-message` output, or an SQS event.
            for key in ["Messages", "Records"] {
                if let Some(Value::Array(messages)) = obj.get(key) {
                    for message in messages {
                        events.push(body_of(message)?);
                    }
                    return Ok(());
                }
            }
            // A single queue message, or an event (or a failure record holding one).
            let is_message = obj.contains_key("MessageId") || obj.contains_key("messageId");
            events.push(if is_message { body_of(&Value::Object(obj))? } else { payload_of(Value::Object(obj)) });
            Ok(())
        }
        other => {
            events.push(other);
            Ok(())
        }
    }
}

/// A queue message's body, parsed: the event.
fn body_of(message: &Value) -> Result<Value, String> {
    let id = message.get("MessageId").or_else(|| message.get("messageId")).and_then(Value::as_str).unwrap_or("(no id)");
    let body =
        message.get("Body").or_else(|| message.get("body")).and_then(Value::as_str).ok_or_else(|| format!("message {id}: no Body"))?;
    serde_json::from_str(body).map(payload_of).map_err(|e| format!("message {id}: its body is not JSON: {e}"))
}

/// The event a Lambda failure record (an `OnFailure` destination's message)
/// holds in `requestPayload`; any other value is the event itself.
fn payload_of(value: Value) -> Value {
    let is_record = value.get("requestContext").is_some() && value.get("requestPayload").is_some();
    match value {
        Value::Object(mut record) if is_record => record.remove("requestPayload").unwrap_or(Value::Null),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_an_array_and_lines_are_read() {
        assert_eq!(events_in(r#"{"a":1}"#), Ok(vec![json!({"a": 1})]));
        assert_eq!(events_in(r#"[{"a":1},{"a":2}]"#), Ok(vec![json!({"a": 1}), json!({"a": 2})]));
        assert_eq!(events_in("{\"a\":1}\n\n{\"a\":2}\n"), Ok(vec![json!({"a": 1}), json!({"a": 2})]));
    }

    #[test]
    fn dead_letter_messages_give_their_bodies() {
        let received = json!({"Messages": [
            {"MessageId": "m-1", "ReceiptHandle": "r", "Body": "{\"detectorId\":\"d\",\"investigationId\":\"1\"}"},
            {"MessageId": "m-2", "Body": "{\"detectorId\":\"d\",\"investigationId\":\"2\"}"}
        ]});
        let events = events_in(&received.to_string()).expect("messages");
        assert_eq!(events, vec![json!({"detectorId": "d", "investigationId": "1"}), json!({"detectorId": "d", "investigationId": "2"})]);
        let sqs_event = json!({"Records": [{"messageId": "m-3", "body": "{\"x\":3}"}]});
        assert_eq!(events_in(&sqs_event.to_string()), Ok(vec![json!({"x": 3})]));
        let one = json!({"MessageId": "m-4", "Body": "{\"x\":4}"});
        assert_eq!(events_in(&one.to_string()), Ok(vec![json!({"x": 4})]));
    }

    #[test]
    fn failure_records_give_the_event_they_hold() {
        let record = json!({
            "version": "1.0",
            "timestamp": "2026-11-20T10:00:00.000Z",
            "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "condition": "RetriesExhausted"},
            "requestPayload": {"detectorId": "d", "investigationId": "1"},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "AwsCallFailed"}
        });
        let received = json!({"Messages": [{"MessageId": "m-1", "Body": record.to_string()}]});
        assert_eq!(events_in(&received.to_string()), Ok(vec![json!({"detectorId": "d", "investigationId": "1"})]));
        assert_eq!(events_in(&record.to_string()), Ok(vec![json!({"detectorId": "d", "investigationId": "1"})]), "a saved record");
        // An event that merely has a member named requestPayload is an event.
        let event = json!({"requestPayload": 1});
        assert_eq!(events_in(&event.to_string()), Ok(vec![event]));
    }

    #[test]
    fn an_object_whose_messages_are_not_a_list_is_an_event_unchanged() {
        let odd = json!({"Messages": "none", "detail": {}});
        assert_eq!(events_in(&odd.to_string()), Ok(vec![odd]));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        assert!(events_in("").unwrap_err().contains("no events"));
        assert!(events_in("{\"a\":1}\nnot json").unwrap_err().starts_with("line 2: not JSON"));
        let bad_body = json!({"Messages": [{"MessageId": "m-9", "Body": "{oops"}]});
        assert!(events_in(&bad_body.to_string()).unwrap_err().starts_with("message m-9: its body is not JSON"));
        let no_body = json!({"Messages": [{"MessageId": "m-8"}]});
        assert_eq!(events_in(&no_body.to_string()), Err("message m-8: no Body".into()));
        assert!(events_in("[]").unwrap_err().contains("no events"));
    }

    #[test]
    fn a_file_with_too_many_events_is_refused() {
        let many = Value::Array(vec![json!({}); MAX_EVENTS_PER_FILE + 1]).to_string();
        assert!(events_in(&many).unwrap_err().contains("at most"));
    }
}
