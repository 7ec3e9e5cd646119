//! The map `relation-set --file -` and `state-set --file -` read from stdin.
//!
//! ops <= 3.3 sends `yaml.safe_dump(dict)` (quoted scalars such as `'123'`, long values folded
//! over several lines), ops >= 3.4 sends `json.dumps(dict)`; JSON is YAML, so one YAML parser
//! reads both (`juju-hook-environment.md` §6.1, transcripts §2.3). Values are stored as strings;
//! an empty value deletes the key. The SDK writes JSON ([`encode`]) because it is what ops 3.4+
//! sends and any size fits (stdin has no argv limit).

use std::collections::BTreeMap;

/// Why a settings document was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// Not YAML (or JSON) at all.
    #[error("cannot parse settings: {0}")]
    Syntax(#[from] serde_norway::Error),
    /// YAML, but not a map of scalars.
    #[error("cannot parse settings: {0}")]
    Shape(String),
}

/// Encodes settings as the JSON object ops 3.4+ writes to `relation-set --file -`. Juju reads
/// it with a YAML parser, which refuses some characters JSON allows raw (DEL, C1 controls,
/// U+FFFE, U+FFFF) and trims around others (U+2028, U+2029): those are written as `\uXXXX`
/// escapes, which both read back as the same character.
pub fn encode(settings: &BTreeMap<String, String>) -> Vec<u8> {
    // A map of strings always serialises.
    let json = serde_json::to_string(settings).unwrap_or_default();
    // Every character to escape is DEL or outside ASCII: a byte scan (vectorised) clears the
    // common case without decoding megabytes of a CA's bag char by char.
    if !json.bytes().any(|b| b >= 0x7f) || !json.chars().any(yaml_escapes) {
        return json.into_bytes();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if yaml_escapes(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.into_bytes()
}

/// The characters a YAML reader refuses or trims around when they are raw (all in the BMP, so
/// one `\uXXXX` escape each; they only occur inside JSON strings).
fn yaml_escapes(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// Whether a JSON parser reads `input` as a YAML parser does: YAML (libyaml, Juju's goyaml)
/// refuses raw DEL, C1 controls, U+FFFE, U+FFFF and surrogate escapes, and trims around raw
/// NEL, U+2028 and U+2029; JSON does none of that. What the SDK and ops write has none of them.
fn json_reads_as_yaml(input: &[u8]) -> bool {
    let at = |i: usize| input.get(i).copied();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            0x7F => return false,
            0xC2 if matches!(at(i + 1), Some(0x80..=0x9F)) => return false,
            0xE2 if at(i + 1) == Some(0x80) && matches!(at(i + 2), Some(0xA8 | 0xA9)) => {
                return false;
            }
            0xEF if at(i + 1) == Some(0xBF) && matches!(at(i + 2), Some(0xBE | 0xBF)) => {
                return false;
            }
            b'\\'
                if at(i + 1) == Some(b'u')
                    && matches!(at(i + 2), Some(b'd' | b'D'))
                    && matches!(at(i + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')) =>
            {
                return false;
            }
            // An escape: the next byte is not the start of one (`\\ud800` is a backslash).
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    true
}

/// Decodes a settings document (YAML or JSON) into string values.
///
/// Scalars are coerced the way Juju coerces them (`123` → `"123"`, `true` → `"true"`, null →
/// `""`, which deletes). An empty document is an empty map. Nested maps or lists are errors.
pub fn decode(input: &[u8]) -> Result<BTreeMap<String, String>, SettingsError> {
    // What the SDK and ops 3.4+ send, a JSON object of strings, is read by the JSON parser
    // when nothing in it reads differently as YAML: the same result as the YAML parser's, at a
    // fraction of the cost for megabyte values.
    if json_reads_as_yaml(input)
        && let Ok(StringMap(map)) = serde_json::from_slice::<StringMap>(input)
    {
        return Ok(map);
    }
    let value: serde_norway::Value = serde_norway::from_slice(input)?;
    let map = match value {
        serde_norway::Value::Null => return Ok(BTreeMap::new()),
        serde_norway::Value::Mapping(m) => m,
        other => {
            return Err(SettingsError::Shape(format!(
                "expected a map, got {}",
                kind(&other)
            )));
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = scalar(k).ok_or_else(|| SettingsError::Shape("keys must be scalars".into()))?;
        let value = scalar(v)
            .ok_or_else(|| SettingsError::Shape(format!("value of {key:?} must be a scalar")))?;
        out.insert(key, value);
    }
    Ok(out)
}

/// A JSON object whose values are all strings (or null: delete), each key once. Anything else
/// (another type, a repeated key, which YAML refuses) fails, and the YAML parser decides.
struct StringMap(BTreeMap<String, String>);

impl<'de> serde::Deserialize<'de> for StringMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<StringMap, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<String, Option<String>>()? {
                    if map.insert(k, v.unwrap_or_default()).is_some() {
                        return Err(serde::de::Error::custom("repeated key"));
                    }
                }
                Ok(StringMap(map))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn scalar(v: serde_norway::Value) -> Option<String> {
    match v {
        serde_norway::Value::Null => Some(String::new()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::String(s) => Some(s),
        serde_norway::Value::Tagged(t) => scalar(t.value),
        serde_norway::Value::Sequence(_) | serde_norway::Value::Mapping(_) => None,
    }
}

fn kind(v: &serde_norway::Value) -> &'static str {
    match v {
        serde_norway::Value::Sequence(_) => "a list",
        serde_norway::Value::Mapping(_) => "a map",
        _ => "a scalar",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_from_ops_3_4_plus() {
        // transcripts §2.5: `relation-set -r <ep>:<id> --file -`, several keys
        let got = decode(br#"{"a": "1", "b": "two words", "c": "xxx"}"#).unwrap();
        assert_eq!(got["a"], "1");
        assert_eq!(got["b"], "two words");
    }

    #[test]
    fn yaml_from_ops_3_3_with_quoted_and_folded_scalars() {
        // transcripts §2.5 (ops 3.3.1 column) and §2.3: PyYAML quotes numbers-as-strings and
        // folds long single-quoted scalars over lines.
        let got = decode(b"a: '1'\nb: two words\nc: xxx\negress-subnets: ''\n").unwrap();
        assert_eq!(got["a"], "1");
        assert_eq!(got["egress-subnets"], "");
        let folded = b"k: '[{\"certificate_signing_request\": \"-----BEGIN CERTIFICATE\n  REQUEST-----\\n\"}]'\n";
        let got = decode(folded).unwrap();
        assert_eq!(
            got["k"],
            "[{\"certificate_signing_request\": \"-----BEGIN CERTIFICATE REQUEST-----\\n\"}]"
        );
    }

    #[test]
    fn scalars_are_coerced_and_nesting_rejected() {
        let got = decode(b"n: 123\nb: true\nz:\n").unwrap();
        assert_eq!(
            (got["n"].as_str(), got["b"].as_str(), got["z"].as_str()),
            ("123", "true", "")
        );
        assert!(decode(b"a: [1, 2]\n").is_err());
        assert!(decode(b"- a\n").is_err());
        assert!(decode(b"{").is_err());
        assert!(decode(b"").unwrap().is_empty());
    }

    #[test]
    fn the_json_fast_path_agrees_with_the_yaml_parser() {
        for doc in [
            r#"{"a": "1", "b": "x\ny \"q\" \u00e9", "c": null, "d": ""}"#,
            r#"{}"#,
            r#"{"n": 1, "b": true}"#,
            r#"{"a": "1", "a": "2"}"#,
            r#"{"a": ["x"]}"#,
            "{\"del\": \"a\u{7f}b\"}",
            "{\"c1\": \"a\u{85}b \u{85} c\u{9f}\"}",
            "{\"ls\": \"a \u{2028} b\u{2029}c\"}",
            "{\"nc\": \"a\u{fffe}\u{ffff}\"}",
            r#"{"surrogates": "\ud83d\ude00"}"#,
            r#"{"escaped backslash": "\\ud800"}"#,
            "{\"astral\": \"\u{1f600}\"}",
        ] {
            let yaml = decode_yaml(doc.as_bytes());
            let fast = decode(doc.as_bytes());
            assert_eq!(
                fast.as_ref().ok(),
                yaml.as_ref().ok(),
                "{doc}: fast {fast:?}, yaml {yaml:?}"
            );
        }
    }

    #[test]
    fn what_encode_writes_yaml_reads_back_and_the_fast_path_takes() {
        let awkward = "a\u{7f}b\u{85}c \u{2028} d\u{2029}\u{fffe}\u{ffff}\u{1f600}é\n\"\\";
        let m = BTreeMap::from([("k".to_owned(), awkward.to_owned())]);
        let wire = encode(&m);
        assert!(
            json_reads_as_yaml(&wire),
            "{}",
            String::from_utf8_lossy(&wire)
        );
        assert_eq!(
            decode_yaml(&wire).unwrap(),
            m,
            "YAML reads the escapes back"
        );
        assert_eq!(decode(&wire).unwrap(), m);
    }

    /// The YAML path alone.
    fn decode_yaml(input: &[u8]) -> Result<BTreeMap<String, String>, SettingsError> {
        let value: serde_norway::Value = serde_norway::from_slice(input)?;
        let serde_norway::Value::Mapping(m) = value else {
            return Err(SettingsError::Shape("not a map".into()));
        };
        m.into_iter()
            .map(|(k, v)| match (scalar(k), scalar(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(SettingsError::Shape("not scalars".into())),
            })
            .collect()
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut m = BTreeMap::new();
        m.insert(
            "certificates".to_owned(),
            "[{\"ca\": \"-----BEGIN\\n…\"}]\n\u{e9}".to_owned(),
        );
        m.insert("gone".to_owned(), String::new());
        assert_eq!(decode(&encode(&m)).unwrap(), m);
    }
}
