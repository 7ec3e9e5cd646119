//! `insta` snapshots of what people read, made stable across runs and machines: times, serials,
//! fingerprints, paths, addresses and ids are redacted, and tables are re-aligned after their
//! cells are redacted (an address's width must not move a column).

use super::root;

/// insta settings for this suite: snapshots in `tests/it/snapshots/`, the filters below.
pub(crate) fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("tests/it/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    let workspace = regex_escape(&root().display().to_string());
    let temp = format!(
        r"{}/[^\s'`:\x22]+",
        regex_escape(&std::env::temp_dir().display().to_string())
    );
    for (pattern, replacement) in [
        // RFC 3339 times (the virtual clock starts at the wall clock).
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        ),
        // Secret URIs and ids (model UUID, 20-character xid).
        (
            r"secret://[0-9a-f-]{36}/[0-9a-v]{20}",
            "secret://[MODEL]/[ID]",
        ),
        (r"secret:[0-9a-v]{20}\b", "secret:[ID]"),
        // Loopback addresses of the model's leased block.
        (r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}", "[ADDR]"),
        // Serials and fingerprints: colon-separated or long hex.
        (r"\b[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){7,}\b", "[HEX]"),
        (r"\b[0-9A-Fa-f]{16,}\b", "[HEX]"),
        // The workspace and temporary paths.
        (workspace.as_str(), "[ROOT]"),
        (temp.as_str(), "[TMP]"),
    ] {
        s.add_filter(pattern, replacement);
    }
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// A cell a filter would shorten or lengthen, redacted before a table is re-aligned.
fn redact_cell(cell: &str) -> String {
    let octets: Vec<&str> = cell.split('.').collect();
    if octets.len() == 4 && octets[0] == "127" && octets.iter().all(|o| o.parse::<u8>().is_ok()) {
        return "[ADDR]".into();
    }
    let b = cell.as_bytes();
    if b.len() == 20 && b[10] == b'T' && b[19] == b'Z' && b[..4].iter().all(u8::is_ascii_digit) {
        return "[TIME]".into();
    }
    if let Some(rest) = cell.strip_prefix("secret://") {
        if rest.len() == 36 + 1 + 20 {
            return "secret://[MODEL]/[ID]".into();
        }
    }
    cell.to_owned()
}

/// Re-aligns the tables of `text` (blocks whose first line is a header of columns two spaces
/// apart) after redacting their cells: columns start where the header's words start, and are
/// re-rendered two spaces apart, as the CLI renders them.
pub(crate) fn tables(text: &str) -> String {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        out.push(realign(block).unwrap_or_else(|| block.to_owned()));
    }
    out.join("\n\n")
}

fn realign(block: &str) -> Option<String> {
    let lines: Vec<&str> = block.lines().collect();
    let header = lines.first()?;
    // Column starts: the header's words that follow two spaces (or the line start).
    let mut starts = vec![0];
    let bytes = header.as_bytes();
    for i in 2..bytes.len() {
        if bytes[i] != b' ' && bytes[i - 1] == b' ' && bytes[i - 2] == b' ' {
            starts.push(i);
        }
    }
    if starts.len() < 2 || !header.is_ascii() {
        return None;
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            (0..starts.len())
                .map(|c| {
                    let from = starts[c].min(line.len());
                    let to = starts.get(c + 1).map_or(line.len(), |&e| e.min(line.len()));
                    redact_cell(line.get(from..to).unwrap_or(line).trim_end())
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..starts.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let rendered: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    Some(rendered.join("\n"))
}

/// Snapshot `name` of the text `value` as it is (`--help`, messages), under [`settings`].
pub(crate) fn plain(name: &str, value: &str) {
    settings().bind(|| insta::assert_snapshot!(name, value));
}

/// Snapshot `name` of text with tables, re-aligned after redaction, under [`settings`].
pub(crate) fn table(name: &str, value: &str) {
    let value = tables(value);
    settings().bind(|| insta::assert_snapshot!(name, value));
}

/// Snapshot `name` of a JSON document, pretty-printed, under [`settings`].
pub(crate) fn json(name: &str, value: &serde_json::Value) {
    settings().bind(|| insta::assert_json_snapshot!(name, value));
}
