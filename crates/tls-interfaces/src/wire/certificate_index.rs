//! The provider's `certificates` list, indexed without copying it.
//!
//! A provider serving N units writes all N certificates (with CA and chain: about 4.6 KB each)
//! into one JSON string, and every requirer unit reads that string on every hook to find its own
//! one or two entries. Deserializing the whole list unescapes and copies megabytes per hook
//! (about 3 ms at N = 500). When every entry is well formed (the usual case), the index instead
//! checks every entry's shape in one pass over the raw text (field presence and JSON types,
//! nothing unescaped or copied), remembers where each entry's strings are, and unescapes only the
//! entries asked for. Otherwise it is exactly a full read ([`read_list_positioned`]): the same
//! entries, the same warnings.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use charm::Databag;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::tls_certificates::CertificateEntry;
use super::{Warning, csr_der, read_list_positioned};

/// One well-formed entry: where its strings are in the list's text (JSON literals, quotes
/// included), and its scalar fields.
#[derive(Debug, Clone)]
struct Indexed {
    /// Its CSR as escaped JSON string content, without the quotes and surrounding whitespace.
    csr: Range<usize>,
    csr_literal: Range<usize>,
    certificate: Range<usize>,
    ca: Range<usize>,
    chain: Option<Vec<Range<usize>>>,
    revoked: Option<bool>,
    recommended_expiry_notification_time: Option<i64>,
}

/// The raw shape of an entry: what [`CertificateEntry`] requires, checked without unescaping.
#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(borrow)]
    certificate_signing_request: &'a RawValue,
    #[serde(borrow)]
    certificate: &'a RawValue,
    #[serde(borrow)]
    ca: &'a RawValue,
    #[serde(default, borrow)]
    chain: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    recommended_expiry_notification_time: Option<i64>,
}

impl Shape<'_> {
    fn strings_are_strings(&self) -> bool {
        let is_string = |raw: &RawValue| raw.get().starts_with('"');
        is_string(self.certificate_signing_request)
            && is_string(self.certificate)
            && is_string(self.ca)
            && self.chain.iter().flatten().all(|c| is_string(c))
    }
}

/// One entry of the list: located in the raw text (fast path) or read in full.
#[derive(Debug, Clone)]
enum Stored {
    Raw(Indexed),
    Owned(CertificateEntry),
}

/// The provider's certificate list: entries found by CSR, parsed on demand.
#[derive(Debug, Default)]
pub(crate) struct CertificateIndex {
    /// The bag holding the list, shared with the model's cache rather than copied.
    bag: Arc<Databag>,
    key: &'static str,
    entries: Vec<Stored>,
    /// DER of each entry's CSR -> entry, for CSRs whose text differs from ours only in
    /// formatting; built (one base64 pass per entry) only when a text lookup misses.
    by_der: OnceCell<BTreeMap<Vec<u8>, usize>>,
}

impl CertificateIndex {
    /// Indexes the list under `key` in `bag`; malformed entries are skipped with a warning
    /// located at `location[index]`.
    pub(crate) fn new(
        bag: Arc<Databag>,
        key: &'static str,
        location: &str,
        warnings: &mut Vec<Warning>,
    ) -> Self {
        let Some(text) = bag.get(key) else {
            return Self::default();
        };
        let base = text.as_ptr() as usize;
        let range = |raw: &RawValue| {
            let start = raw.get().as_ptr() as usize - base;
            start..start + raw.get().len()
        };
        let index = |shape: &Shape<'_>| {
            let literal = shape.certificate_signing_request.get();
            let csr = trim_escaped(&literal[1..literal.len() - 1]);
            let csr_start = csr.as_ptr() as usize - base;
            Indexed {
                csr: csr_start..csr_start + csr.len(),
                csr_literal: range(shape.certificate_signing_request),
                certificate: range(shape.certificate),
                ca: range(shape.ca),
                chain: shape
                    .chain
                    .as_ref()
                    .map(|c| c.iter().map(|r| range(r)).collect()),
                revoked: shape.revoked,
                recommended_expiry_notification_time: shape.recommended_expiry_notification_time,
            }
        };
        let pem_warning = |i: usize, warnings: &mut Vec<Warning>| {
            warnings.push(Warning {
                location: format!("{location}[{i}]"),
                problem: "certificate_signing_request is not a PEM CSR".into(),
            });
        };
        // One pass over the text when every entry is well formed. `\u` escapes are left to the
        // full read: their validity (surrogate pairs) is only checked when unescaping.
        if !text.contains("\\u")
            && let Ok(shapes) = serde_json::from_str::<Vec<Shape<'_>>>(text)
            && shapes.iter().all(Shape::strings_are_strings)
        {
            for (i, shape) in shapes.iter().enumerate() {
                let literal = shape.certificate_signing_request.get();
                if !trim_escaped(&literal[1..literal.len() - 1]).starts_with("-----BEGIN")
                    && !unescaped_is_pem(literal)
                {
                    pem_warning(i, warnings);
                }
            }
            let entries = shapes.iter().map(|s| Stored::Raw(index(s))).collect();
            return Self::with(bag.clone(), key, entries);
        }
        let entries = read_list_positioned::<CertificateEntry>(Some(text), location, warnings)
            .into_iter()
            .map(|(i, entry)| {
                if !entry
                    .certificate_signing_request
                    .trim_start()
                    .starts_with("-----BEGIN")
                {
                    pem_warning(i, warnings);
                }
                Stored::Owned(entry)
            })
            .collect();
        Self::with(bag.clone(), key, entries)
    }

    fn with(bag: Arc<Databag>, key: &'static str, entries: Vec<Stored>) -> Self {
        Self {
            bag,
            key,
            entries,
            by_der: OnceCell::new(),
        }
    }

    fn text(&self) -> &str {
        self.bag.get(self.key).map_or("", String::as_str)
    }

    /// The entry answering the CSR whose PEM is `pem` and whose DER is `der`: by text first (both
    /// libraries write the canonical PEM), by DER when the provider reformatted it. The last
    /// such entry wins, as when the whole list is read into a map.
    pub(crate) fn find(&self, pem: &str, der: &[u8]) -> Option<CertificateEntry> {
        let pem = pem.trim();
        let escaped = serde_json::to_string(pem).ok()?;
        let escaped = &escaped[1..escaped.len() - 1];
        let same_text = |e: &Stored| match e {
            Stored::Raw(r) => &self.text()[r.csr.clone()] == escaped,
            Stored::Owned(o) => o.certificate_signing_request.trim() == pem,
        };
        if let Some(e) = self.entries.iter().rev().find(|e| same_text(e)) {
            return self.parse(e);
        }
        let by_der = self.by_der.get_or_init(|| {
            self.entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let csr = match e {
                        Stored::Raw(r) => self.string(&r.csr_literal)?,
                        Stored::Owned(o) => o.certificate_signing_request.clone(),
                    };
                    csr_der(&csr).map(|d| (d, i))
                })
                .collect()
        });
        by_der.get(der).and_then(|i| self.parse(&self.entries[*i]))
    }

    /// Every well-formed entry, in list order.
    pub(crate) fn all(&self) -> Vec<CertificateEntry> {
        self.entries.iter().filter_map(|e| self.parse(e)).collect()
    }

    fn parse(&self, e: &Stored) -> Option<CertificateEntry> {
        let e = match e {
            Stored::Raw(e) => e,
            Stored::Owned(o) => return Some(o.clone()),
        };
        Some(CertificateEntry {
            ca: self.string(&e.ca)?,
            certificate_signing_request: self.string(&e.csr_literal)?,
            certificate: self.string(&e.certificate)?,
            chain: match &e.chain {
                Some(chain) => Some(
                    chain
                        .iter()
                        .map(|c| self.string(c))
                        .collect::<Option<_>>()?,
                ),
                None => None,
            },
            revoked: e.revoked,
            recommended_expiry_notification_time: e.recommended_expiry_notification_time,
        })
    }

    /// The value of the JSON string literal at `range`.
    fn string(&self, range: &Range<usize>) -> Option<String> {
        serde_json::from_str(&self.text()[range.clone()]).ok()
    }
}

/// Whether a JSON string literal's value, once unescaped, starts with a PEM header after
/// leading whitespace (the rare case [`trim_escaped`] cannot see through).
fn unescaped_is_pem(quoted: &str) -> bool {
    serde_json::from_str::<String>(quoted).is_ok_and(|s| s.trim_start().starts_with("-----BEGIN"))
}

/// Trims whitespace written literally or as `\n`, `\r`, `\t` escapes from both ends of escaped
/// JSON string content.
fn trim_escaped(mut s: &str) -> &str {
    const ESCAPES: [&str; 3] = ["\\n", "\\r", "\\t"];
    loop {
        let before = s.len();
        s = s.trim_matches(' ');
        for e in ESCAPES {
            s = s.strip_prefix(e).unwrap_or(s);
            // The final `\` starts an escape only if the backslashes before it pair up
            // (in JSON, `\\n` is an escaped backslash and a plain `n`).
            if let Some(rest) = s.strip_suffix(e)
                && (rest.len() - rest.trim_end_matches('\\').len()) % 2 == 0
            {
                s = rest;
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(text: &str) -> Arc<Databag> {
        Arc::new(Databag::from([(
            "certificates".to_owned(),
            text.to_owned(),
        )]))
    }

    fn entry(csr: &str, cert: &str) -> serde_json::Value {
        serde_json::json!({
            "ca": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----",
            "certificate_signing_request": csr,
            "certificate": cert,
        })
    }

    const CSR_A: &str =
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----";
    const CSR_B: &str =
        "-----BEGIN CERTIFICATE REQUEST-----\nBBBB\n-----END CERTIFICATE REQUEST-----";

    /// What a full read finds and says: the entries, and the warnings with the PEM check.
    fn full_read(text: &str) -> (Vec<CertificateEntry>, Vec<Warning>) {
        let mut warnings = Vec::new();
        let read =
            read_list_positioned::<CertificateEntry>(Some(&text.to_owned()), "c", &mut warnings);
        for (i, e) in &read {
            if !e
                .certificate_signing_request
                .trim_start()
                .starts_with("-----BEGIN")
            {
                warnings.push(Warning {
                    location: format!("c[{i}]"),
                    problem: "certificate_signing_request is not a PEM CSR".into(),
                });
            }
        }
        (read.into_iter().map(|(_, e)| e).collect(), warnings)
    }

    /// The index agrees with a full read on `text`: entries, warnings, and text/DER lookups.
    fn assert_agrees(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut ours = Vec::new();
        let index = CertificateIndex::new(bag(text), "certificates", "c", &mut ours);
        let (full, mut theirs) = full_read(text);
        proptest::prop_assert_eq!(index.all(), full.clone());
        let key = |w: &Warning| (w.location.clone(), w.problem.clone());
        ours.sort_by_key(key);
        theirs.sort_by_key(key);
        proptest::prop_assert_eq!(ours, theirs);
        for csr in [CSR_A, CSR_B] {
            let der = csr_der(csr).unwrap_or_default();
            let by_text = full
                .iter()
                .rev()
                .find(|e| e.certificate_signing_request.trim() == csr);
            let by_der = full
                .iter()
                .rev()
                .find(|e| csr_der(&e.certificate_signing_request).as_deref() == Some(&der[..]));
            proptest::prop_assert_eq!(index.find(csr, &der), by_text.or(by_der).cloned());
        }
        Ok(())
    }

    #[test]
    fn finds_by_text_with_the_last_entry_winning_and_ignores_padding() {
        let list = serde_json::json!([
            entry(CSR_A, "first"),
            entry(&format!("\n{CSR_B}\n"), "b"),
            entry(CSR_A, "second"),
        ]);
        let mut w = Vec::new();
        let index = CertificateIndex::new(bag(&list.to_string()), "certificates", "c", &mut w);
        assert!(w.is_empty(), "{w:?}");
        let found = |csr| index.find(csr, b"-").map(|e| e.certificate);
        assert_eq!(found(CSR_A).as_deref(), Some("second"));
        assert_eq!(found(CSR_B).as_deref(), Some("b"));
        assert_eq!(index.all().len(), 3);
    }

    #[test]
    fn a_reformatted_csr_is_found_by_der() {
        let crlf = CSR_A.replace('\n', "\r\n").replace("AAAA", "AA\r\nAA");
        let list = serde_json::json!([entry(&crlf, "crlf"), entry(CSR_B, "b")]);
        let mut w = Vec::new();
        let index = CertificateIndex::new(bag(&list.to_string()), "certificates", "c", &mut w);
        let der = csr_der(CSR_A).expect("der");
        assert_eq!(
            index.find(CSR_A, &der).map(|e| e.certificate).as_deref(),
            Some("crlf")
        );
    }

    #[test]
    fn malformed_entries_are_warned_about_like_a_full_read() {
        let list = serde_json::json!([
            entry(CSR_A, "ok"),
            {"bogus": true},
            {"ca": "x", "certificate_signing_request": 5, "certificate": "y"},
            {"ca": "x", "certificate_signing_request": "not pem", "certificate": "y"},
            {"ca": "x", "certificate_signing_request": CSR_B, "certificate": "y", "chain": [1]},
            {"ca": "x", "certificate_signing_request": CSR_B, "certificate": "y", "revoked": "no"},
        ]);
        assert_agrees(&list.to_string()).expect("agrees");
    }

    #[test]
    fn texts_only_a_full_read_sees_through_are_read_in_full() {
        let dup = format!(
            r#"[{{"ca": "x", "ca": "y", "certificate_signing_request": {}, "certificate": "z"}}]"#,
            serde_json::to_string(CSR_A).expect("json")
        );
        let lone_surrogate = format!(
            r#"[{{"ca": "\udc00", "certificate_signing_request": {}, "certificate": "z"}}]"#,
            serde_json::to_string(CSR_A).expect("json")
        );
        let escaped = serde_json::json!([entry(CSR_A, "e")]).to_string().replace(
            "-----BEGIN CERTIFICATE REQUEST",
            "\\u002d----BEGIN CERTIFICATE REQUEST",
        );
        for text in [
            dup,
            lone_surrogate,
            escaped,
            "{\"a\": 1}".into(),
            "[1,".into(),
        ] {
            assert_agrees(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    fn arbitrary_entry() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just(CSR_A.to_owned()),
            Just(format!(" \n{CSR_B}\r\n")),
            Just(CSR_A.replace('\n', "\r\n")),
            "[ -~\n\t\\\\\"é]{0,12}",
        ];
        let field = prop_oneof![
            text.clone().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
            proptest::collection::vec(text.clone(), 0..3).prop_map(serde_json::Value::from),
        ];
        let keys = prop_oneof![
            Just("ca"),
            Just("certificate"),
            Just("certificate_signing_request"),
            Just("chain"),
            Just("revoked"),
            Just("recommended_expiry_notification_time"),
            Just("other"),
        ];
        proptest::collection::vec((keys, field, any::<bool>(), text), 0..8).prop_map(|fields| {
            let mut entry = entry(CSR_A, "c");
            for (k, v, use_text, t) in fields {
                entry[k] = if use_text { t.into() } else { v };
            }
            entry
        })
    }

    /// Edits of the raw text a `Value` cannot produce: duplicate keys, `\u` and `\/` escapes.
    fn mutate(text: &str, how: u8) -> String {
        match how % 4 {
            0 => text.to_owned(),
            1 => text.replacen("{", "{\"ca\": \"dup\", ", 1),
            2 => text.replacen("-----BEGIN", "\\u002d----BEGIN", 1),
            _ => text.replacen("-----END", "\\/-----END", 1),
        }
    }

    proptest::proptest! {
        /// The index finds, lists and warns about exactly what a full read does.
        #[test]
        fn the_index_agrees_with_a_full_read(
            entries in proptest::collection::vec(arbitrary_entry(), 0..6),
            how in proptest::prelude::any::<u8>(),
        ) {
            let text = mutate(&serde_json::Value::from(entries).to_string(), how);
            assert_agrees(&text)?;
        }
    }

    #[test]
    fn escaped_whitespace_is_trimmed_but_escaped_backslashes_are_kept() {
        assert_eq!(trim_escaped("\\n\\r abc \\t\\n"), "abc");
        assert_eq!(trim_escaped("abc\\\\n"), "abc\\\\n");
        assert_eq!(trim_escaped("abc\\\\\\n"), "abc\\\\");
        assert_eq!(trim_escaped(""), "");
    }
}
