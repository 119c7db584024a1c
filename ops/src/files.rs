//! Reading the files an operator names, bounded: a pipe or a device says
//! nothing of its size, so the bound is applied while reading.

use std::io::Read;

/// The most bytes of one file read (a Lambda payload is at most 6 MB, an SQS
/// message 1 MiB; this leaves room for many of them, or a large fixture).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `path` as UTF-8 text of at most [`MAX_FILE_BYTES`].
pub fn read(path: &str) -> Result<String, String> {
    read_at_most(path, MAX_FILE_BYTES)
}

/// Reads `path` as UTF-8 text of at most `max` bytes.
fn read_at_most(path: &str, max: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text).map_err(|e| format!("{path}: {e}"))?;
    if text.len() as u64 > max {
        return Err(format!("{path}: larger than {max} bytes (split it)"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_bound_is_refused_and_one_within_is_read() {
        let path = std::env::temp_dir().join(format!("escalator-ops-files-{}", std::process::id()));
        std::fs::write(&path, "0123456789").expect("write");
        let path = path.to_string_lossy().into_owned();
        assert_eq!(read_at_most(&path, 10).as_deref(), Ok("0123456789"));
        assert!(read_at_most(&path, 9).unwrap_err().contains("larger than 9 bytes"));
        let _ = std::fs::remove_file(&path);
        assert!(read("/nonexistent/file").unwrap_err().starts_with("/nonexistent/file: "));
    }
}
