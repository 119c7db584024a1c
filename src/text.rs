//! Fitting text into the services' length limits: cut on a character boundary,
//! with a visible marker, never rejected for length.

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
}
