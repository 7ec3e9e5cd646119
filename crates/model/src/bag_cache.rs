//! Databag values and rendered `relation-get` answers, kept by revision.
//!
//! Every requirer unit of a CA reads the same provider bag (4.5 MB of JSON at 1,000
//! certificates) after each write. Reading it from SQLite, checking its UTF-8, hashing it and
//! copying the rendered text for each reader was most of the hook-tool server's work. Each
//! stored value has a revision no other value ever gets
//! ([`store::relations::BAG_REVISION_COUNTER`]), so a value known by its revision is that value,
//! and an answer rendered from a bag's revisions is the answer while they stay the same:
//! nothing is hashed or compared, and a hit is shared, not copied.
//!
//! Only what a committed snapshot showed goes in: a revision handed out in a transaction that
//! rolls back is handed out again, so [`BagCache::bag`] is called on the read connection (or
//! the main one outside a transaction), never inside a write transaction. Lookups alone
//! ([`BagCache::committed_value_is`]) may happen anywhere.
//!
//! Bounded: one value per bag key and one answer per bag, key and format are kept, at most
//! [`MAX_BYTES`] of each; the cache is emptied when a store would go over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hook_tools::values::Format;
use rusqlite::Connection;
use serde_json::Value;

use crate::error::Result;
use crate::store;

/// Values, and separately rendered answers, kept at most.
const MAX_BYTES: usize = 96 << 20;

/// A bag key: relation id, owner (unit or application), key.
type KeyId = (i64, String, String);

/// One answer: relation id, owner, the key asked for (`None`: the whole bag), format.
type AnswerId = (i64, String, Option<String>, Format);

/// What one `relation-get` asked for, as a committed snapshot showed it: one key of a bag
/// (`key`) or the whole bag, each key with its value's revision and the value, in key order.
#[derive(Debug, Default)]
pub(crate) struct CachedBag {
    relation: i64,
    owner: String,
    key: Option<String>,
    entries: Vec<(String, i64, Arc<str>)>,
}

impl CachedBag {
    /// The revisions of the values held, in key order.
    fn revisions(&self) -> Vec<i64> {
        self.entries.iter().map(|(_, rev, _)| *rev).collect()
    }

    /// What `relation-get` answers before rendering: the key's value (null when unset) or
    /// the whole bag.
    fn value(&self) -> Value {
        match &self.key {
            Some(_) => self
                .entries
                .first()
                .map_or(Value::Null, |(_, _, v)| Value::String(v.to_string())),
            None => Value::Object(
                self.entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), Value::String(v.to_string())))
                    .collect(),
            ),
        }
    }
}

#[derive(Default)]
struct Inner {
    values: HashMap<KeyId, (i64, Arc<str>)>,
    value_bytes: usize,
    answers: HashMap<AnswerId, (Vec<i64>, Arc<str>)>,
    answer_bytes: usize,
}

/// The cache of one model (see the module doc).
#[derive(Default)]
pub(crate) struct BagCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BagCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("BagCache")
            .field("values", &inner.values.len())
            .field("value_bytes", &inner.value_bytes)
            .field("answers", &inner.answers.len())
            .field("answer_bytes", &inner.answer_bytes)
            .finish()
    }
}

impl BagCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bag `owner` of relation `rel`, or only its `key`, as `c` shows it (a committed
    /// snapshot: see the module doc). Only values whose revision is not known yet are read:
    /// asking for one key never reads the others.
    pub(crate) fn bag(
        &self,
        c: &Connection,
        rel: i64,
        owner: &str,
        key: Option<&str>,
    ) -> Result<CachedBag> {
        let revisions = match key {
            Some(k) => store::relations::bag_revision(c, rel, owner, k)?
                .map(|rev| vec![(k.to_owned(), rev)])
                .unwrap_or_default(),
            None => store::relations::bag_revisions(c, rel, owner)?,
        };
        let mut entries = Vec::with_capacity(revisions.len());
        let mut missing = Vec::new();
        {
            let inner = self.lock();
            for (key, rev) in revisions {
                let id = (rel, owner.to_owned(), key);
                match inner.values.get(&id) {
                    Some((known, value)) if *known == rev => {
                        entries.push((id.2, rev, Arc::clone(value)));
                    }
                    _ => missing.push((id.2, rev)),
                }
            }
        }
        if missing.is_empty() {
            return Ok(CachedBag {
                relation: rel,
                owner: owner.to_owned(),
                key: key.map(str::to_owned),
                entries,
            });
        }
        let mut read = Vec::with_capacity(missing.len());
        for (key, rev) in missing {
            // The same snapshot listed it, so it is there.
            if let Some(value) = store::relations::bag_value(c, rel, owner, &key)? {
                read.push((key, rev, Arc::<str>::from(value)));
            }
        }
        let mut inner = self.lock();
        for (key, rev, value) in &read {
            let added = value.len();
            if inner.value_bytes + added > MAX_BYTES {
                inner.values.clear();
                inner.value_bytes = 0;
            }
            let id = (rel, owner.to_owned(), key.clone());
            if let Some((_, old)) = inner.values.insert(id, (*rev, Arc::clone(value))) {
                inner.value_bytes -= old.len();
            }
            inner.value_bytes += added;
        }
        drop(inner);
        entries.extend(read);
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(CachedBag {
            relation: rel,
            owner: owner.to_owned(),
            key: key.map(str::to_owned),
            entries,
        })
    }

    /// `relation-get`'s answer from `bag` in `format`: the one rendered before when the
    /// revisions are the same, else `render`ed now and kept.
    pub(crate) fn answer(
        &self,
        bag: &CachedBag,
        format: Format,
        render: impl FnOnce(&Value, Format) -> String,
    ) -> Arc<str> {
        let id = (bag.relation, bag.owner.clone(), bag.key.clone(), format);
        let revisions = bag.revisions();
        if let Some((known, text)) = self.lock().answers.get(&id)
            && *known == revisions
        {
            return Arc::clone(text);
        }
        let text: Arc<str> = render(&bag.value(), format).into();
        let mut inner = self.lock();
        if inner.answer_bytes + text.len() > MAX_BYTES {
            inner.answers.clear();
            inner.answer_bytes = 0;
        }
        inner.answer_bytes += text.len();
        if let Some((_, old)) = inner.answers.insert(id, (revisions, Arc::clone(&text))) {
            inner.answer_bytes -= old.len();
        }
        text
    }

    /// Whether the committed value of one bag key is `value` (`None`: unset), from the cache
    /// when it knows the committed revision. Safe inside a write transaction: it only looks.
    pub(crate) fn committed_value_is(
        &self,
        c: &Connection,
        rel: i64,
        owner: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<bool> {
        let Some(rev) = store::relations::bag_revision(c, rel, owner, key)? else {
            return Ok(value.is_none());
        };
        let id = (rel, owner.to_owned(), key.to_owned());
        if let Some((known, cached)) = self.lock().values.get(&id)
            && *known == rev
        {
            return Ok(value == Some(&**cached));
        }
        Ok(store::relations::bag_value(c, rel, owner, key)?.as_deref() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = store::open(&dir.path().join("model.db")).expect("store");
        (dir, c)
    }

    fn set(c: &Connection, key: &str, value: Option<&str>) {
        store::relations::set_bag_key(c, 1, "ca", key, value).expect("set");
    }

    #[test]
    fn a_changed_or_deleted_value_is_never_served_from_the_cache() {
        let (_dir, c) = store();
        let cache = BagCache::default();
        let render = |v: &Value, _: Format| v.to_string();
        let answer = |key: Option<&str>| {
            let bag = cache.bag(&c, 1, "ca", key).expect("bag");
            cache.answer(&bag, Format::Json, render).to_string()
        };
        set(&c, "a", Some("1"));
        set(&c, "b", Some("2"));
        assert_eq!(answer(None), r#"{"a":"1","b":"2"}"#);
        set(&c, "a", Some("3"));
        assert_eq!(answer(None), r#"{"a":"3","b":"2"}"#);
        assert_eq!(answer(Some("b")), r#""2""#);
        // Deleted and set again to its old text: a new revision, the same answer as then.
        set(&c, "a", None);
        assert_eq!(answer(None), r#"{"b":"2"}"#);
        assert_eq!(answer(Some("a")), "null");
        set(&c, "a", Some("1"));
        assert_eq!(answer(Some("a")), r#""1""#);
        assert!(
            cache
                .committed_value_is(&c, 1, "ca", "a", Some("1"))
                .expect("compare")
        );
        assert!(
            !cache
                .committed_value_is(&c, 1, "ca", "a", Some("3"))
                .expect("compare")
        );
        assert!(
            cache
                .committed_value_is(&c, 1, "ca", "gone", None)
                .expect("compare")
        );
    }

    #[test]
    fn an_unchanged_bag_is_answered_without_reading_or_rendering_it_again() {
        let (_dir, c) = store();
        let cache = BagCache::default();
        let renders = std::cell::Cell::new(0);
        let render = |v: &Value, f: Format| {
            renders.set(renders.get() + 1);
            format!("{f:?}:{v}")
        };
        set(&c, "certificates", Some(&"x".repeat(100_000)));
        set(&c, "capabilities", Some("{}"));
        let bag = cache.bag(&c, 1, "ca", None).expect("bag");
        let first = cache.answer(&bag, Format::Json, render);
        let again = cache.bag(&c, 1, "ca", None).expect("bag");
        assert!(
            Arc::ptr_eq(&bag.entries[1].2, &again.entries[1].2),
            "value read once"
        );
        let second = cache.answer(&again, Format::Json, render);
        assert!(Arc::ptr_eq(&first, &second), "answer rendered once");
        assert_eq!(renders.get(), 1);
        cache.answer(&again, Format::Yaml, render);
        let one = cache.bag(&c, 1, "ca", Some("capabilities")).expect("bag");
        assert_eq!(one.entries.len(), 1, "one key asked, one value held");
        cache.answer(&one, Format::Json, render);
        assert_eq!(
            renders.get(),
            3,
            "each format and key is an answer of its own"
        );
    }
}
