//! Output in the exact bytes of the published Python charm, for scripts written against it.
//!
//! Its `get-issued-certificates` calls `set_results({"certificates": [c.to_json() for c in
//! certificates]})`: each certificate is `ProviderCertificate.to_json()`
//! ([`tls_interfaces::IssuedCertificate::to_json`]), and ops renders the list with Python's
//! `str()`, i.e. `['…', '…']` with each string in `repr` form.

/// Python's `str()` of a list of strings.
pub fn python_str_of_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| python_repr(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// Python's `repr()` of a string: single quotes unless the text has a single quote and no
/// double quote; backslashes, the quote and control characters escaped.
pub fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Python itself is the oracle for `str()` of a list of JSON strings.
    #[test]
    fn list_rendering_is_pythons() {
        let items = vec![
            r#"{"csr": "-----BEGIN X-----\nAB\n-----END X-----", "revoked": null}"#.to_owned(),
            "it's".to_owned(),
            "both ' and \"".to_owned(),
            "tab\there \\ back".to_owned(),
        ];
        let ours = python_str_of_list(&items);
        let json = serde_json::to_string(&items).unwrap();
        let out = Command::new("python3")
            .args([
                "-c",
                "import json,sys; sys.stdout.write(str(json.loads(sys.argv[1])))",
                &json,
            ])
            .output()
            .expect("python3");
        assert!(out.status.success());
        assert_eq!(ours, String::from_utf8(out.stdout).unwrap());
    }
}
