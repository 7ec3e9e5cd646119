//! A memo of rendered tool output for large values. Every requirer unit of a CA reads the same
//! provider bag (4.5 MB of JSON at 1,000 certificates) after each write; rendering it again for
//! each reader (escaping megabytes into Go-style JSON) was the hook-tool server's largest cost
//! per call. The memo is keyed by a digest of the value itself and the format, so it never
//! serves what a value no longer is; only values of at least [`MIN_BYTES`] are kept, and at most
//! [`MAX_BYTES`] in all (the memo is emptied when full).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hook_tools::values::Format;
use serde_json::Value;
use xxhash_rust::xxh3::Xxh3;

/// Values whose strings add up to less are rendered each time (cheaper than a digest and a
/// lock).
const MIN_BYTES: usize = 64 * 1024;
/// Rendered text kept at most.
const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Memo {
    texts: HashMap<(u128, std::mem::Discriminant<Format>), Arc<String>>,
    bytes: usize,
}

static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// `render(value, format)`, from the memo when the same value was rendered in that format before.
pub(crate) fn render_memoized(
    value: &Value,
    format: Format,
    render: impl FnOnce(&Value, Format) -> String,
) -> String {
    let mut hasher = Xxh3::new();
    let size = feed(&mut hasher, value);
    if size < MIN_BYTES {
        return render(value, format);
    }
    let key = (hasher.digest128(), std::mem::discriminant(&format));
    let lock = || MEMO.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(text) = lock().as_ref().and_then(|m| m.texts.get(&key).cloned()) {
        return text.as_str().to_owned();
    }
    let text = render(value, format);
    let mut memo = lock();
    let memo = memo.get_or_insert_with(Memo::default);
    if memo.bytes + text.len() > MAX_BYTES {
        *memo = Memo::default();
    }
    memo.bytes += text.len();
    memo.texts.insert(key, Arc::new(text.clone()));
    text
}

/// Feeds the value's structure and strings to `hasher` (each item tagged, so different values
/// never feed the same bytes); returns the bytes of strings seen.
fn feed(hasher: &mut Xxh3, value: &Value) -> usize {
    match value {
        Value::Null => {
            hasher.update(b"n");
            0
        }
        Value::Bool(b) => {
            hasher.update(if *b { b"t" } else { b"f" });
            0
        }
        Value::Number(n) => {
            let text = n.to_string();
            hasher.update(b"d");
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
            0
        }
        Value::String(s) => {
            hasher.update(b"s");
            hasher.update(&(s.len() as u64).to_le_bytes());
            hasher.update(s.as_bytes());
            s.len()
        }
        Value::Array(items) => {
            hasher.update(b"a");
            hasher.update(&(items.len() as u64).to_le_bytes());
            items.iter().map(|v| feed(hasher, v)).sum()
        }
        Value::Object(map) => {
            hasher.update(b"o");
            hasher.update(&(map.len() as u64).to_le_bytes());
            map.iter()
                .map(|(k, v)| {
                    hasher.update(&(k.len() as u64).to_le_bytes());
                    hasher.update(k.as_bytes());
                    k.len() + feed(hasher, v)
                })
                .sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_are_rendered_once_per_format_and_never_confused() {
        let big = "x".repeat(MIN_BYTES);
        let a = serde_json::json!({ "k": big.clone() });
        let b = serde_json::json!({ "k": format!("{big}y") });
        let calls = std::cell::Cell::new(0);
        let render = |v: &Value, f: Format| {
            calls.set(calls.get() + 1);
            format!("{f:?}:{}", v["k"].as_str().map_or(0, str::len))
        };
        let first = render_memoized(&a, Format::Json, render);
        assert_eq!(render_memoized(&a, Format::Json, render), first);
        assert_eq!(calls.get(), 1, "the second rendering came from the memo");
        assert_ne!(render_memoized(&b, Format::Json, render), first);
        assert_ne!(render_memoized(&a, Format::Yaml, render), first);
        assert_eq!(calls.get(), 3);
        let small = serde_json::json!({ "k": "v" });
        render_memoized(&small, Format::Json, render);
        render_memoized(&small, Format::Json, render);
        assert_eq!(calls.get(), 5, "small values are not memoized");
    }
}
