//! Aligned columns for people (widths in characters, not bytes).

/// Renders `rows` under `header`, each column as wide as its widest cell, two
/// spaces apart, with no trailing spaces.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            out.push_str(cell);
            if i + 1 < columns {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = vec![line(header.to_vec())];
    out.push(line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect()));
    out.extend(rows.iter().map(|row| line(row.iter().map(String::as_str).collect())));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_characters() {
        let rows = vec![vec!["escalated".to_string(), "3".to_string()], vec!["é".to_string(), "12".to_string()]];
        assert_eq!(render(&["outcome", "n"], &rows), "outcome    n\n---------  --\nescalated  3\né          12");
    }
}
