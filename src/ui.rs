//! What a person reads: colours only on a terminal, tables with aligned columns, and one place
//! that prints errors. Scripts use `--json` instead of parsing any of this.

use std::io::IsTerminal;

/// Whether stdout is a terminal that wants colour (honours `NO_COLOR`).
pub(crate) fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Paints `text` with an ANSI SGR code when `on`.
pub(crate) fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Green text on a colour terminal.
pub(crate) fn green(text: &str) -> String {
    paint(color_stdout(), "32", text)
}

/// Red text on a colour terminal.
pub(crate) fn red(text: &str) -> String {
    paint(color_stdout(), "31", text)
}

/// Bold text on a colour terminal.
pub(crate) fn bold(text: &str) -> String {
    paint(color_stdout(), "1", text)
}

/// Prints an error (the whole `anyhow` chain) to stderr.
pub(crate) fn error(message: &str) {
    eprintln!("{} {message}", paint(color_stderr(), "1;31", "error:"));
}

/// A plain-text table: a header row and rows of cells, columns padded to the widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Renders the table; widths ignore ANSI escapes so coloured cells still line up.
    pub(crate) fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| visible_len(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(visible_len(cell));
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| bold(h)).collect();
        push_row(&mut out, &header, &widths);
        for row in &self.rows {
            push_row(&mut out, row, &widths);
        }
        out
    }
}

fn push_row(out: &mut String, cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        line.push_str(cell);
        if i + 1 < cells.len() {
            let pad = widths.get(i).copied().unwrap_or(0) - visible_len(cell).min(widths[i]);
            line.push_str(&" ".repeat(pad + 2));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Length of a string as shown on screen: ANSI escape sequences take no room.
fn visible_len(s: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_ignoring_colour_codes() {
        let mut t = Table::new(["a", "bb"]);
        t.row(["\x1b[32mxxx\x1b[0m", "y"]);
        t.row(["z", "w"]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[2], "z    w");
        assert_eq!(visible_len(lines[1]), 6);
    }
}
