//! Times for people: RFC 3339 out; RFC 3339, a date or a span back from now in.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// An epoch-seconds time as RFC 3339 (UTC).
pub fn secs(epoch_secs: i64) -> String {
    DateTime::from_secs(epoch_secs).fmt(Format::DateTime).unwrap_or_else(|_| format!("{epoch_secs} (epoch seconds)"))
}

/// An epoch-milliseconds time as RFC 3339 (UTC), to the second.
pub fn millis(epoch_ms: i64) -> String {
    secs(epoch_ms.div_euclid(1000))
}

/// A length of time, roughly, for people: `45 s`, `12 min`, `3 h`, `2 days`.
pub fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

/// Reads a point in time as epoch milliseconds: RFC 3339
/// (`2026-11-01T12:00:00Z`), a date (`2026-11-01`, midnight UTC), or a span
/// back from `now_ms` (`30d`, `12h`, `90m`, `45s`).
pub fn parse(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    let expected = "expected RFC 3339 (2026-11-01T12:00:00Z), a date (2026-11-01) or a span back from now (30d, 12h, 90m)";
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let digits = &text[..text.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = digits.parse().map_err(|_| format!("{text:?}: too large"))?;
            let unit_ms = match unit {
                'd' => 86_400_000,
                'h' => 3_600_000,
                'm' => 60_000,
                's' => 1_000,
                _ => return Err(format!("{text:?}: unknown unit {unit:?}; {expected}")),
            };
            return n.checked_mul(unit_ms).map(|back| now_ms.saturating_sub(back)).ok_or_else(|| format!("{text:?}: too large"));
        }
    }
    // The SDK's reader takes UTC (`Z`) only: an offset is applied here.
    let (utc, offset_ms) = match split_offset(text) {
        Some((base, offset_ms)) => (format!("{base}Z"), offset_ms),
        None if text.len() == 10 => (format!("{text}T00:00:00Z"), 0),
        None => (text.to_string(), 0),
    };
    let at = DateTime::from_str(&utc, Format::DateTime).map_err(|_| format!("{text:?}: {expected}"))?;
    at.to_millis().map(|ms| ms - offset_ms).map_err(|_| format!("{text:?}: out of range"))
}

/// `2026-12-02T01:00:00+01:00` → (`2026-12-02T01:00:00`, +1 h in ms).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let cut = text.len().checked_sub(6)?;
    let (base, offset) = (text.get(..cut)?, text.get(cut..)?.as_bytes());
    let sign = match offset[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |a: u8, b: u8| (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'));
    let (hours, minutes) = (digits(offset[1], offset[2])?, digits(offset[4], offset[5])?);
    (offset[3] == b':' && base.contains('T') && hours < 24 && minutes < 60).then_some((base, sign * (hours * 60 + minutes) * 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_169_600_000; // 2026-12-02T00:00:00Z

    #[test]
    fn rfc3339_dates_and_spans_are_read() {
        assert_eq!(parse("2026-12-02T00:00:00Z", 0), Ok(NOW));
        assert_eq!(parse("2026-12-02", 0), Ok(NOW), "a date is midnight UTC");
        assert_eq!(parse("2026-12-02T01:00:00+01:00", 0), Ok(NOW), "offsets are honoured");
        assert_eq!(parse("2026-12-01T19:30:00-04:30", 0), Ok(NOW));
        assert_eq!(parse("30d", NOW), Ok(NOW - 30 * 86_400_000));
        assert_eq!(parse(" 12h ", NOW), Ok(NOW - 12 * 3_600_000));
        assert_eq!(parse("90m", NOW), Ok(NOW - 90 * 60_000));
        assert_eq!(parse("45s", NOW), Ok(NOW - 45_000));
    }

    #[test]
    fn anything_else_is_refused_with_what_is_expected() {
        for bad in [
            "",
            "yesterday",
            "30w",
            "d",
            "-3d",
            "2026-13-01",
            "2026/12/01",
            "99999999999999999999d",
            "2026-12-02T01:00:00+25:00",
            "2026-12-02+01:00",
        ] {
            let err = parse(bad, NOW).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")) || err.contains(bad.trim()), "{bad}: {err}");
        }
        assert!(parse("30w", NOW).unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn times_are_written_in_rfc3339() {
        assert_eq!(secs(NOW / 1000), "2026-12-02T00:00:00Z");
        assert_eq!(millis(NOW + 999), "2026-12-02T00:00:00Z");
        assert_eq!([span(45), span(-600), span(10_800), span(3 * 86_400)], ["45 s", "10 min", "3 h", "3 days"]);
    }
}
