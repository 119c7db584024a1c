//! Text for people (and [`console`]: the console links people follow): cleaned of what hides or reorders what a reader sees, and
//! fitted into the services' length limits (cut on a character boundary, with a
//! visible marker, never rejected for length). Every title, description,
//! comment, timeline event and trigger prompt this product writes goes through
//! [`fit_title`] or [`fit_body`] (docs/design.md §12): investigation summaries
//! are model output built from data an attacker can influence.

pub mod console;

use std::borrow::Cow;

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

/// True for characters that must not reach a reader: controls, bidirectional
/// overrides and isolates (which reorder what is shown), zero-width characters
/// (which hide text or split words that filters look for), and the line and
/// paragraph separators. Newline and tab are decided by the caller.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space, non-joiner, joiner; LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
            | '\u{061C}'              // Arabic letter mark
            | '\u{FEFF}'              // zero-width no-break space (BOM)
            | '\u{180E}'              // Mongolian vowel separator
        )
}

/// One line for a title: hidden characters removed, any run of line breaks and
/// tabs (and what else separates lines) folded into one space, trimmed, cut to `max`.
pub fn fit_title(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
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
    fn ordinary_text_in_any_script_is_kept() {
        for text in
            ["Brute force from 198.51.100.1 (SSH, port 22)", "Zugriff über Tor-Knoten", "暴力破解 SSH", "هجوم القوة الغاشمة", "emoji 🔥 ok"]
        {
            assert_eq!(fit_title(text, 300), text);
            assert_eq!(fit_body(text, 300), text);
        }
    }
}
