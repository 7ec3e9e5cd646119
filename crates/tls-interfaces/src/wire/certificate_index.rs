//! The provider's `certificates` list, indexed without copying it.
//!
//! A provider serving N units writes all N certificates (with CA and chain: about 4.6 KB each)
//! into one JSON string, and every requirer unit reads that string on every hook to find its own
//! one or two entries. Deserializing the whole list unescapes and copies megabytes per hook
//! (about 3 ms at N = 500). The index instead checks every entry's shape in one pass over the raw
//! text (field presence and JSON types, nothing unescaped or copied), remembers where each
//! entry's strings are, and unescapes only the entries asked for. Malformed entries get the same
//! warnings a full read gives.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use charm::Databag;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::tls_certificates::CertificateEntry;
use super::{Warning, csr_der, read_list};

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

/// The provider's certificate list: entries found by CSR, parsed on demand.
#[derive(Debug, Default)]
pub(crate) struct CertificateIndex {
    /// The bag holding the list, shared with the model's cache rather than copied.
    bag: Arc<Databag>,
    key: &'static str,
    entries: Vec<Indexed>,
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
        let pem_warning = |i: usize, shape: &Shape<'_>, warnings: &mut Vec<Warning>| {
            let literal = shape.certificate_signing_request.get();
            if !trim_escaped(&literal[1..literal.len() - 1]).starts_with("-----BEGIN")
                && !unescaped_is_pem(literal)
            {
                warnings.push(Warning {
                    location: format!("{location}[{i}]"),
                    problem: "certificate_signing_request is not a PEM CSR".into(),
                });
            }
        };
        // One pass over the text when every entry is well formed (the usual case).
        if let Ok(shapes) = serde_json::from_str::<Vec<Shape<'_>>>(text)
            && shapes.iter().all(Shape::strings_are_strings)
        {
            for (i, shape) in shapes.iter().enumerate() {
                pem_warning(i, shape, warnings);
            }
            let entries = shapes.iter().map(index).collect();
            return Self::with(bag.clone(), key, entries);
        }
        let items: Vec<&RawValue> = match serde_json::from_str(text) {
            Ok(items) => items,
            Err(_) => {
                // Not a JSON list: the full reader words the warning; it finds no entry either.
                let none: Vec<CertificateEntry> = read_list(Some(text), location, warnings);
                debug_assert!(none.is_empty());
                return Self::default();
            }
        };
        let mut entries = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let raw = item.get();
            let shape = serde_json::from_str::<Shape<'_>>(raw)
                .ok()
                .filter(Shape::strings_are_strings);
            let Some(shape) = shape else {
                // Worded as the full reader words it (from a value: no position in the text).
                let problem = match serde_json::from_str(raw)
                    .and_then(serde_json::from_value::<CertificateEntry>)
                {
                    Err(e) => e.to_string(),
                    Ok(_) => "unexpected entry shape".to_owned(),
                };
                warnings.push(Warning {
                    location: format!("{location}[{i}]"),
                    problem,
                });
                continue;
            };
            pem_warning(i, &shape, warnings);
            entries.push(index(&shape));
        }
        Self::with(bag.clone(), key, entries)
    }

    fn with(bag: Arc<Databag>, key: &'static str, entries: Vec<Indexed>) -> Self {
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
        let needle = serde_json::to_string(pem.trim()).ok()?;
        let needle = &needle[1..needle.len() - 1];
        if let Some(e) = self
            .entries
            .iter()
            .rev()
            .find(|e| &self.text()[e.csr.clone()] == needle)
        {
            return self.parse(e);
        }
        let by_der = self.by_der.get_or_init(|| {
            self.entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| csr_der(&self.string(&e.csr_literal)?).map(|d| (d, i)))
                .collect()
        });
        by_der.get(der).and_then(|i| self.parse(&self.entries[*i]))
    }

    /// Every well-formed entry, in list order.
    pub(crate) fn all(&self) -> Vec<CertificateEntry> {
        self.entries.iter().filter_map(|e| self.parse(e)).collect()
    }

    fn parse(&self, e: &Indexed) -> Option<CertificateEntry> {
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
            // `\\n` at the end is an escaped backslash followed by `n`, not a newline.
            if s.ends_with(e) && !s[..s.len() - e.len()].ends_with('\\') {
                s = &s[..s.len() - e.len()];
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

    #[test]
    fn finds_by_text_with_the_last_entry_winning_and_ignores_padding() {
        let list = serde_json::json!([
            entry(CSR_A, "first"),
            entry(&format!("\n{CSR_B}\n"), "b"),
            entry(CSR_A, "second"),
        ]);
        let mut w = Vec::new();
        let index = CertificateIndex::new(
            bag(&list.to_string()),
            "certificates",
            "certificates",
            &mut w,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            index.find(CSR_A, b"-").map(|e| e.certificate).as_deref(),
            Some("second")
        );
        assert_eq!(
            index.find(CSR_B, b"-").map(|e| e.certificate).as_deref(),
            Some("b")
        );
        assert_eq!(index.all().len(), 3);
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
        let text = list.to_string();
        let mut ours = Vec::new();
        let index = CertificateIndex::new(bag(&text), "certificates", "certificates", &mut ours);
        let mut full = Vec::new();
        let entries: Vec<CertificateEntry> = read_list(Some(&text), "certificates", &mut full);
        let located = |w: &[Warning]| w.iter().map(|w| w.location.clone()).collect::<Vec<_>>();
        let mut expected = located(&full);
        expected.insert(2, "certificates[3]".into()); // the PEM check of the old reader
        assert_eq!(located(&ours), expected, "{ours:?}");
        assert_eq!(ours[0].problem, full[0].problem);
        assert_eq!(index.all(), entries);
    }

    #[test]
    fn not_a_list_gives_the_full_readers_warning() {
        for text in ["{\"a\": 1}", "[1,", "\"x\""] {
            let mut ours = Vec::new();
            let index = CertificateIndex::new(bag(text), "certificates", "certificates", &mut ours);
            let mut full = Vec::new();
            let _: Vec<CertificateEntry> =
                read_list(Some(&text.to_owned()), "certificates", &mut full);
            assert_eq!(ours, full);
            assert!(index.all().is_empty());
        }
    }

    fn arbitrary_entry() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just(CSR_A.to_owned()),
            Just(format!(" \n{CSR_B}\r\n")),
            "[ -~\n\t\\\"é]{0,12}",
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

    proptest::proptest! {
        /// The index finds, lists and warns about exactly what a full read does.
        #[test]
        fn the_index_agrees_with_a_full_read(
            entries in proptest::collection::vec(arbitrary_entry(), 0..6),
        ) {
            let text = serde_json::Value::from(entries).to_string();
            let mut ours = Vec::new();
            let index = CertificateIndex::new(bag(&text), "certificates", "c", &mut ours);
            let mut theirs = Vec::new();
            let full: Vec<CertificateEntry> = read_list(Some(&text), "c", &mut theirs);
            proptest::prop_assert_eq!(index.all(), full.clone());
            let ours: std::collections::BTreeSet<_> = ours.into_iter().map(|w| w.location).collect();
            for w in theirs {
                proptest::prop_assert!(ours.contains(&w.location), "missing warning {w}");
            }
            for csr in [CSR_A, CSR_B] {
                let expected = full
                    .iter()
                    .rev()
                    .find(|e| e.certificate_signing_request.trim() == csr)
                    .cloned();
                proptest::prop_assert_eq!(index.find(csr, b"-"), expected);
            }
        }
    }

    #[test]
    fn escaped_whitespace_is_trimmed_but_escaped_backslashes_are_kept() {
        assert_eq!(trim_escaped("\\n\\r abc \\t\\n"), "abc");
        assert_eq!(trim_escaped("abc\\\\n"), "abc\\\\n");
        assert_eq!(trim_escaped(""), "");
    }
}
