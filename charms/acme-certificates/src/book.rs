//! The order book: per CSR, the ACME order working on it, failed attempts and when the next
//! may start, and DNS records still to remove. It lives in the application's bag of the peer
//! relation, so a new leader resumes the same orders (lego keeps nothing and starts over).

use std::collections::BTreeMap;

use charm::{BagOwner, Model, RelationId};
use serde::{Deserialize, Serialize};

/// Peer endpoint whose application bag holds the book.
pub const PEERS: &str = "acme-state";
const KEY: &str = "orders";

/// Backoff after the first failure; doubled per failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: i64 = 60;
/// Longest wait between attempts: Let's Encrypt's failed-validation limit is per hour.
pub const MAX_BACKOFF: i64 = 6 * 3600;

/// A TXT record we created, to remove once its order is decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxtRecord {
    /// Zone updated.
    pub zone: String,
    /// Record name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// One CSR's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The order's URL at the server, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Failed attempts in a row.
    #[serde(default)]
    pub failures: u32,
    /// No attempt before this (Unix seconds, model clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<i64>,
    /// The last failure, for status and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// TXT records created for this order and not removed yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<TxtRecord>,
    /// When the first of them was created (real Unix seconds: DNS propagates in real time),
    /// so `dns-propagation-wait` is waited once, across hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_since: Option<i64>,
}

impl Entry {
    /// Whether an attempt may start at `now`.
    pub fn due(&self, now: i64) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// Allows the next attempt now (the operator changed something).
    pub fn retry_now(&mut self) {
        self.retry_at = None;
    }

    /// Records a failure at `now`: the next attempt waits 1 min, 2, 4, ... up to 6 h.
    pub fn failed(&mut self, now: i64, message: &str) {
        self.failures = self.failures.saturating_add(1);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1i64 << self.failures.saturating_sub(1).min(20))
            .min(MAX_BACKOFF);
        self.retry_at = Some(now.saturating_add(backoff));
        self.last_error = Some(message.to_owned());
    }
}

/// The book: which account its orders belong to, and the entries by CSR fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// The account URL the orders were made with; another account drops them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Entries by SHA-256 (hex) of the CSR's DER.
    #[serde(default)]
    pub orders: BTreeMap<String, Entry>,
}

/// Why the book could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The SDK failed.
    #[error(transparent)]
    Model(#[from] charm::Error),
    /// The stored JSON is not a book: named, and not silently replaced by an empty one.
    #[error(
        "the order book in the {PEERS} application data is unreadable ({0}); remove the key '{KEY}' to start over"
    )]
    Corrupt(String),
}

/// Reads the book (empty when none was written).
pub fn load(model: &mut Model<'_>, relation: &RelationId) -> Result<Book, BookError> {
    let owner = BagOwner::App(model.app().clone());
    let bag = model.relation_data(relation, &owner)?;
    match bag.get(KEY) {
        None => Ok(Book::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| BookError::Corrupt(e.to_string())),
    }
}

/// Writes the book if it changed (leader).
pub fn save(
    model: &mut Model<'_>,
    relation: &RelationId,
    before: &Book,
    book: &Book,
) -> Result<(), charm::Error> {
    if before == book {
        return Ok(());
    }
    let owner = BagOwner::App(model.app().clone());
    let text = serde_json::to_string(book).map_err(|e| charm::Error::StateValue {
        key: KEY.to_owned(),
        source: e,
    })?;
    model.set_relation_data(relation, &owner, KEY, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_six_hours() {
        let mut e = Entry::default();
        assert!(e.due(0));
        let waits: Vec<i64> = (0..12)
            .map(|_| {
                e.failed(1000, "x");
                e.retry_at.unwrap() - 1000
            })
            .collect();
        assert_eq!(&waits[..4], &[60, 120, 240, 480]);
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF);
        assert!(!e.due(1000 + MAX_BACKOFF - 1));
        assert!(e.due(1000 + MAX_BACKOFF));
    }

    #[test]
    fn the_book_round_trips_and_skips_empty_fields() {
        let mut book = Book {
            account: Some("https://acme.test/acct/1".into()),
            ..Default::default()
        };
        book.orders.insert(
            "ab".into(),
            Entry {
                url: Some("https://acme.test/order/1".into()),
                ..Default::default()
            },
        );
        let text = serde_json::to_string(&book).unwrap();
        assert_eq!(
            text,
            r#"{"account":"https://acme.test/acct/1","orders":{"ab":{"url":"https://acme.test/order/1","failures":0}}}"#
        );
        assert_eq!(serde_json::from_str::<Book>(&text).unwrap(), book);
    }
}
