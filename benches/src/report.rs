//! Markdown tables and JSON rows.

use serde_json::Value;

/// A result table: a header and rows of cells, printed as markdown.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of formatted cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column names.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (cells are already formatted).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as GitHub-flavoured markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("| {} |\n", self.header.join(" | ")));
        s.push_str(&format!(
            "|{}\n",
            self.header.iter().map(|_| " ---: |").collect::<String>()
        ));
        for r in &self.rows {
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        s
    }
}

/// All JSON rows of one run, written with `--json PATH`.
#[derive(Debug, Default)]
pub struct JsonRows(pub Vec<Value>);

impl JsonRows {
    /// Appends one row object.
    pub fn push(&mut self, row: Value) {
        self.0.push(row);
    }

    /// Writes the rows as a pretty-printed JSON array.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.0).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

/// Formats a time in µs with sensible precision.
pub fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

/// Rounds to 3 significant decimals for JSON (keeps files readable).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_header_separator_and_rows() {
        let mut t = Table::new(&["a", "b"]);
        t.push(vec!["1".into(), "2".into()]);
        let md = t.to_markdown();
        assert_eq!(md, "| a | b |\n| ---: | ---: |\n| 1 | 2 |\n");
    }

    #[test]
    fn json_rows_round_trip() {
        let mut rows = JsonRows::default();
        rows.push(serde_json::json!({"suite": "kernels", "m": 4}));
        let dir = std::env::temp_dir().join(format!("amq-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("rows.json");
        rows.write(&p).unwrap();
        let back: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back, rows.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
