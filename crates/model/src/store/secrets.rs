//! Secrets: owners, revisions and their content, grants, consumers and the timers of expiry and
//! rotation. A secret without an owner application (`owner_app` NULL) is owned by the model: a
//! user secret (`add-secret`).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{decode, encode};
use crate::error::Result;

/// The relation id of a grant made by the model's user (`grant-secret`), not over a relation:
/// relation ids count from 0, and removing a relation keeps these grants.
pub(crate) const MODEL_GRANT: i64 = -1;

/// A secret with its latest revision.
#[derive(Debug, Clone)]
pub(crate) struct Latest {
    /// `None`: owned by the model.
    pub(crate) owner_app: Option<String>,
    pub(crate) owner_unit: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) description: String,
    pub(crate) rotate: String,
    pub(crate) latest: i64,
    pub(crate) content: BTreeMap<String, String>,
    pub(crate) expiry: Option<i64>,
}

fn revision_row(xid: &str, rev: i64) -> String {
    format!("{xid}/{rev}")
}

/// A secret and its latest revision's content and expiry.
pub(crate) fn latest(c: &Connection, xid: &str) -> Result<Option<Latest>> {
    let row = c
        .query_row(
            "SELECT s.owner_app, s.owner_unit, s.label, s.description, s.rotate, s.latest, \
             r.content, r.expiry FROM secrets s \
             JOIN secret_revisions r ON r.xid=s.xid AND r.rev=s.latest WHERE s.xid=?1",
            [xid],
            |r| {
                Ok((
                    Latest {
                        owner_app: r.get(0)?,
                        owner_unit: r.get(1)?,
                        label: r.get(2)?,
                        description: r.get(3)?,
                        rotate: r.get(4)?,
                        latest: r.get(5)?,
                        content: BTreeMap::new(),
                        expiry: r.get(7)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut s, content)| {
        s.content = decode(
            "secret_revisions",
            &revision_row(xid, s.latest),
            "content",
            &content,
        )?;
        Ok(s)
    })
    .transpose()
}

/// The latest revision number of a secret.
pub(crate) fn latest_revision(c: &Connection, xid: &str) -> Result<Option<i64>> {
    Ok(
        c.query_row("SELECT latest FROM secrets WHERE xid=?1", [xid], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// The content of one revision.
pub(crate) fn revision_content(
    c: &Connection,
    xid: &str,
    rev: i64,
) -> Result<Option<BTreeMap<String, String>>> {
    let raw: Option<String> = c
        .query_row(
            "SELECT content FROM secret_revisions WHERE xid=?1 AND rev=?2",
            params![xid, rev],
            |r| r.get(0),
        )
        .optional()?;
    raw.map(|raw| decode("secret_revisions", &revision_row(xid, rev), "content", &raw))
        .transpose()
}

/// The secrets of `app` that `unit` may see as owner: app-owned ones and its own, in creation
/// order.
pub(crate) fn owned_by(c: &Connection, app: &str, unit: &str) -> Result<Vec<String>> {
    let mut st = c.prepare(
        "SELECT xid FROM secrets WHERE owner_app=?1 AND (owner_unit IS NULL OR owner_unit=?2) \
         ORDER BY rowid",
    )?;
    Ok(st
        .query_map(params![app, unit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A new secret and its first revision.
#[derive(Debug, Clone)]
pub(crate) struct New<'a> {
    pub(crate) xid: &'a str,
    /// `None`: owned by the model.
    pub(crate) owner_app: Option<&'a str>,
    pub(crate) owner_unit: Option<&'a str>,
    pub(crate) label: Option<&'a str>,
    pub(crate) description: &'a str,
    pub(crate) rotate: &'a str,
    pub(crate) rotate_due: Option<i64>,
    pub(crate) expiry: Option<i64>,
    pub(crate) content: &'a BTreeMap<String, String>,
    /// Model time of creation.
    pub(crate) now: i64,
}

/// Records a new secret with revision 1.
pub(crate) fn insert(c: &Connection, s: &New<'_>) -> Result<()> {
    c.execute(
        "INSERT INTO secrets(xid,owner_app,owner_unit,label,description,rotate,rotate_due,latest,\
         created,updated) VALUES(?1,?2,?3,?4,?5,?6,?7,1,?8,?8)",
        params![
            s.xid,
            s.owner_app,
            s.owner_unit,
            s.label,
            s.description,
            s.rotate,
            s.rotate_due,
            s.now
        ],
    )?;
    c.execute(
        "INSERT INTO secret_revisions(xid,rev,content,expiry,expire_due,created) \
         VALUES(?1,1,?2,?3,?3,?4)",
        params![
            s.xid,
            encode(
                "secret_revisions",
                &revision_row(s.xid, 1),
                "content",
                s.content
            )?,
            s.expiry,
            s.now
        ],
    )?;
    Ok(())
}

/// Replaces the content of an existing revision (one made earlier in the same hook).
pub(crate) fn replace_content(
    c: &Connection,
    xid: &str,
    rev: i64,
    content: &BTreeMap<String, String>,
) -> Result<()> {
    c.execute(
        "UPDATE secret_revisions SET content=?3 WHERE xid=?1 AND rev=?2",
        params![
            xid,
            rev,
            encode(
                "secret_revisions",
                &revision_row(xid, rev),
                "content",
                content
            )?
        ],
    )?;
    Ok(())
}

/// Adds revision `rev` (made at model time `now`) and makes it the latest.
pub(crate) fn add_revision(
    c: &Connection,
    xid: &str,
    rev: i64,
    content: &BTreeMap<String, String>,
    now: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO secret_revisions(xid,rev,content,created) VALUES(?1,?2,?3,?4)",
        params![
            xid,
            rev,
            encode(
                "secret_revisions",
                &revision_row(xid, rev),
                "content",
                content
            )?,
            now
        ],
    )?;
    c.execute(
        "UPDATE secrets SET latest=?2, updated=?3 WHERE xid=?1",
        params![xid, rev, now],
    )?;
    Ok(())
}

/// The owner label.
pub(crate) fn set_label(c: &Connection, xid: &str, label: &str) -> Result<()> {
    c.execute(
        "UPDATE secrets SET label=?2 WHERE xid=?1",
        params![xid, label],
    )?;
    Ok(())
}

/// The description.
pub(crate) fn set_description(c: &Connection, xid: &str, description: &str) -> Result<()> {
    c.execute(
        "UPDATE secrets SET description=?2 WHERE xid=?1",
        params![xid, description],
    )?;
    Ok(())
}

/// The rotation policy and when it is next due.
pub(crate) fn set_rotate(c: &Connection, xid: &str, policy: &str, due: Option<i64>) -> Result<()> {
    c.execute(
        "UPDATE secrets SET rotate=?2, rotate_due=?3 WHERE xid=?1",
        params![xid, policy, due],
    )?;
    Ok(())
}

/// When the secret is next due for rotation.
pub(crate) fn set_rotate_due(c: &Connection, xid: &str, due: Option<i64>) -> Result<()> {
    c.execute(
        "UPDATE secrets SET rotate_due=?2 WHERE xid=?1",
        params![xid, due],
    )?;
    Ok(())
}

/// The expiry of the latest revision (and when secret-expired is due).
pub(crate) fn set_latest_expiry(c: &Connection, xid: &str, expiry: i64) -> Result<()> {
    c.execute(
        "UPDATE secret_revisions SET expiry=?2, expire_due=?2 \
         WHERE xid=?1 AND rev=(SELECT latest FROM secrets WHERE xid=?1)",
        params![xid, expiry],
    )?;
    Ok(())
}

/// When secret-expired of a revision fires next.
pub(crate) fn set_expire_due(c: &Connection, xid: &str, rev: i64, due: i64) -> Result<()> {
    c.execute(
        "UPDATE secret_revisions SET expire_due=?3 WHERE xid=?1 AND rev=?2",
        params![xid, rev, due],
    )?;
    Ok(())
}

/// Set when secret content is deleted; [`crate::Model`] checkpoints the write-ahead log after
/// the transaction commits, so the zeroed pages (`secure_delete`) replace the old ones in the
/// store and no copy stays in the log. Process-wide: a spare checkpoint is harmless.
static CONTENT_DELETED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes that secret content was deleted in the current transaction.
pub(crate) fn content_deleted() {
    CONTENT_DELETED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether content was deleted since the last call.
pub(crate) fn take_content_deleted() -> bool {
    CONTENT_DELETED.swap(false, std::sync::atomic::Ordering::Relaxed)
}

/// Forgets a secret: every revision, grant and consumer.
pub(crate) fn delete(c: &Connection, xid: &str) -> Result<()> {
    content_deleted();
    for sql in [
        "DELETE FROM secrets WHERE xid=?1",
        "DELETE FROM secret_revisions WHERE xid=?1",
        "DELETE FROM secret_grants WHERE xid=?1",
        "DELETE FROM secret_consumers WHERE xid=?1",
    ] {
        c.execute(sql, [xid])?;
    }
    Ok(())
}

/// Forgets one revision.
pub(crate) fn delete_revision(c: &Connection, xid: &str, rev: i64) -> Result<()> {
    content_deleted();
    c.execute(
        "DELETE FROM secret_revisions WHERE xid=?1 AND rev=?2",
        params![xid, rev],
    )?;
    Ok(())
}

/// Grants `target` (an application or unit) access over relation `rel`.
pub(crate) fn grant(c: &Connection, xid: &str, rel: i64, target: &str) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO secret_grants(xid,relation_id,target) VALUES(?1,?2,?3)",
        params![xid, rel, target],
    )?;
    Ok(())
}

/// Revokes grants: of one relation or all, of one target (an application also loses its
/// units' grants) or all.
pub(crate) fn revoke(
    c: &Connection,
    xid: &str,
    rel: Option<i64>,
    target: Option<&str>,
) -> Result<()> {
    c.execute(
        "DELETE FROM secret_grants WHERE xid=?1 AND (?2 IS NULL OR relation_id=?2) \
         AND (?3 IS NULL OR target=?3 OR target LIKE ?3 || '/%')",
        params![xid, rel, target],
    )?;
    Ok(())
}

/// Whether the application or the unit was granted the secret.
pub(crate) fn is_granted(c: &Connection, xid: &str, app: &str, unit: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT COUNT(*)>0 FROM secret_grants WHERE xid=?1 AND (target=?2 OR target=?3)",
        params![xid, app, unit],
        |r| r.get(0),
    )?)
}

/// Who was granted the secret, sorted.
pub(crate) fn grant_targets(c: &Connection, xid: &str) -> Result<Vec<String>> {
    let mut st = c.prepare("SELECT target FROM secret_grants WHERE xid=?1 ORDER BY target")?;
    Ok(st
        .query_map([xid], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The revision a consumer unit tracks, if it read the secret.
pub(crate) fn tracked(c: &Connection, xid: &str, unit: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT tracked FROM secret_consumers WHERE xid=?1 AND unit=?2",
        params![xid, unit],
        |r| r.get(0),
    )
    .optional()?)
}

/// A unit starts consuming a secret, tracking `rev`.
pub(crate) fn add_consumer(
    c: &Connection,
    xid: &str,
    unit: &str,
    label: Option<&str>,
    rev: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO secret_consumers(xid,unit,label,tracked) VALUES(?1,?2,?3,?4)",
        params![xid, unit, label, rev],
    )?;
    Ok(())
}

/// The revision a consumer tracks.
pub(crate) fn set_tracked(c: &Connection, xid: &str, unit: &str, rev: i64) -> Result<()> {
    c.execute(
        "UPDATE secret_consumers SET tracked=?3 WHERE xid=?1 AND unit=?2",
        params![xid, unit, rev],
    )?;
    Ok(())
}

/// A consumer's label.
pub(crate) fn set_consumer_label(c: &Connection, xid: &str, unit: &str, label: &str) -> Result<()> {
    c.execute(
        "UPDATE secret_consumers SET label=?3 WHERE xid=?1 AND unit=?2",
        params![xid, unit, label],
    )?;
    Ok(())
}

/// The secret a unit consumes under `label`.
pub(crate) fn consumed_by_label(c: &Connection, unit: &str, label: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT xid FROM secret_consumers WHERE unit=?1 AND label=?2",
        params![unit, label],
        |r| r.get(0),
    )
    .optional()?)
}

/// A consumer's label of a secret.
pub(crate) fn consumer_label(c: &Connection, xid: &str, unit: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT label FROM secret_consumers WHERE xid=?1 AND unit=?2",
        params![xid, unit],
        |r| r.get::<_, Option<String>>(0),
    )
    .optional()?
    .flatten())
}

/// The owner label of a secret.
pub(crate) fn owner_label(c: &Connection, xid: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT label FROM secrets WHERE xid=?1", [xid], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten(),
    )
}

/// Consumers tracking a revision other than `rev`, sorted.
pub(crate) fn consumers_not_tracking(c: &Connection, xid: &str, rev: i64) -> Result<Vec<String>> {
    let mut st =
        c.prepare("SELECT unit FROM secret_consumers WHERE xid=?1 AND tracked<>?2 ORDER BY unit")?;
    Ok(st
        .query_map(params![xid, rev], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every consumer and the revision it tracks.
pub(crate) fn consumers(c: &Connection, xid: &str) -> Result<BTreeMap<String, i64>> {
    let mut st = c.prepare("SELECT unit, tracked FROM secret_consumers WHERE xid=?1")?;
    Ok(st
        .query_map([xid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A revision (or, for rotation, a secret) and who owns it.
#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub(crate) xid: String,
    pub(crate) rev: Option<i64>,
    /// `None`: owned by the model.
    pub(crate) owner_app: Option<String>,
    pub(crate) owner_unit: Option<String>,
}

fn owned_rows(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    with_rev: bool,
) -> Result<Vec<Owned>> {
    let mut st = c.prepare(sql)?;
    Ok(st
        .query_map(p, |r| {
            let n = usize::from(with_rev);
            Ok(Owned {
                xid: r.get(0)?,
                rev: if with_rev { r.get(1)? } else { None },
                owner_app: r.get(n + 1)?,
                owner_unit: r.get(n + 2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Old revisions no consumer tracks whose owner was not told yet (secret-remove).
pub(crate) fn obsolete_revisions(c: &Connection) -> Result<Vec<Owned>> {
    owned_rows(
        c,
        "SELECT r.xid, r.rev, s.owner_app, s.owner_unit FROM secret_revisions r \
         JOIN secrets s ON s.xid=r.xid WHERE r.rev < s.latest AND r.remove_notified=0 \
         AND NOT EXISTS (SELECT 1 FROM secret_consumers sc WHERE sc.xid=r.xid AND sc.tracked=r.rev)",
        [],
        true,
    )
}

/// The owner was sent secret-remove for the revision.
pub(crate) fn mark_remove_notified(c: &Connection, xid: &str, rev: i64) -> Result<()> {
    c.execute(
        "UPDATE secret_revisions SET remove_notified=1 WHERE xid=?1 AND rev=?2",
        params![xid, rev],
    )?;
    Ok(())
}

/// Revisions whose secret-expired is due at `now`, soonest first.
pub(crate) fn expiries_due(c: &Connection, now: i64) -> Result<Vec<Owned>> {
    owned_rows(
        c,
        "SELECT r.xid, r.rev, s.owner_app, s.owner_unit FROM secret_revisions r \
         JOIN secrets s ON s.xid=r.xid \
         WHERE r.expire_due IS NOT NULL AND r.expire_due<=?1 ORDER BY r.expire_due",
        [now],
        true,
    )
}

/// Secrets whose secret-rotate is due at `now`, soonest first.
pub(crate) fn rotations_due(c: &Connection, now: i64) -> Result<Vec<Owned>> {
    owned_rows(
        c,
        "SELECT xid, owner_app, owner_unit FROM secrets \
         WHERE rotate_due IS NOT NULL AND rotate_due<=?1 ORDER BY rotate_due",
        [now],
        false,
    )
}

/// A secret as `secrets` lists it.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub(crate) xid: String,
    /// `None`: owned by the model.
    pub(crate) owner_app: Option<String>,
    pub(crate) owner_unit: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) latest: i64,
    pub(crate) expiry: Option<i64>,
    pub(crate) rotate: String,
}

/// Every secret, in creation order.
pub(crate) fn summaries(c: &Connection) -> Result<Vec<Summary>> {
    let mut st = c.prepare(
        "SELECT s.xid, s.owner_app, s.owner_unit, s.label, s.latest, r.expiry, s.rotate \
         FROM secrets s LEFT JOIN secret_revisions r ON r.xid=s.xid AND r.rev=s.latest \
         ORDER BY s.rowid",
    )?;
    Ok(st
        .query_map([], |r| {
            Ok(Summary {
                xid: r.get(0)?,
                owner_app: r.get(1)?,
                owner_unit: r.get(2)?,
                label: r.get(3)?,
                latest: r.get(4)?,
                expiry: r.get(5)?,
                rotate: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The model-owned secret named `name` (user secrets' names are their owner labels).
pub(crate) fn model_owned_named(c: &Connection, name: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT xid FROM secrets WHERE owner_app IS NULL AND label=?1",
        [name],
        |r| r.get(0),
    )
    .optional()?)
}

/// Every secret labelled `label`, whoever owns it, in creation order.
pub(crate) fn labelled(c: &Connection, label: &str) -> Result<Vec<String>> {
    let mut st = c.prepare("SELECT xid FROM secrets WHERE label=?1 ORDER BY rowid")?;
    Ok(st
        .query_map([label], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Whether unused old revisions of a (model-owned) secret are deleted.
pub(crate) fn auto_prune(c: &Connection, xid: &str) -> Result<bool> {
    Ok(
        c.query_row("SELECT auto_prune FROM secrets WHERE xid=?1", [xid], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(false),
    )
}

/// Sets whether unused old revisions are deleted.
pub(crate) fn set_auto_prune(c: &Connection, xid: &str, on: bool) -> Result<()> {
    c.execute(
        "UPDATE secrets SET auto_prune=?2 WHERE xid=?1",
        params![xid, on],
    )?;
    Ok(())
}

/// Records a change of the secret at model time `now`.
pub(crate) fn touch(c: &Connection, xid: &str, now: i64) -> Result<()> {
    c.execute(
        "UPDATE secrets SET updated=?2 WHERE xid=?1",
        params![xid, now],
    )?;
    Ok(())
}

/// Makes `rev` the latest revision (after the latest was removed).
pub(crate) fn set_latest(c: &Connection, xid: &str, rev: i64) -> Result<()> {
    c.execute(
        "UPDATE secrets SET latest=?2 WHERE xid=?1",
        params![xid, rev],
    )?;
    Ok(())
}

/// Creation and update times of a secret (NULL for secrets made before they were recorded).
pub(crate) fn times(c: &Connection, xid: &str) -> Result<(Option<i64>, Option<i64>)> {
    Ok(c.query_row(
        "SELECT created, updated FROM secrets WHERE xid=?1",
        [xid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .unwrap_or((None, None)))
}

/// One revision's metadata.
#[derive(Debug, Clone)]
pub(crate) struct Revision {
    pub(crate) rev: i64,
    pub(crate) created: Option<i64>,
    pub(crate) expiry: Option<i64>,
}

/// The revisions a secret still has, oldest first.
pub(crate) fn revisions(c: &Connection, xid: &str) -> Result<Vec<Revision>> {
    let mut st =
        c.prepare("SELECT rev, created, expiry FROM secret_revisions WHERE xid=?1 ORDER BY rev")?;
    Ok(st
        .query_map([xid], |r| {
            Ok(Revision {
                rev: r.get(0)?,
                created: r.get(1)?,
                expiry: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Old revisions (not the latest) that no consumer tracks, oldest first.
pub(crate) fn unused_revisions(c: &Connection, xid: &str) -> Result<Vec<i64>> {
    let mut st = c.prepare(
        "SELECT r.rev FROM secret_revisions r JOIN secrets s ON s.xid=r.xid \
         WHERE r.xid=?1 AND r.rev < s.latest \
         AND NOT EXISTS (SELECT 1 FROM secret_consumers sc WHERE sc.xid=r.xid AND sc.tracked=r.rev) \
         ORDER BY r.rev",
    )?;
    Ok(st
        .query_map([xid], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Grants, each with the relation it was made over ([`MODEL_GRANT`]: by the model's user).
pub(crate) fn grants(c: &Connection, xid: &str) -> Result<Vec<(i64, String)>> {
    let mut st = c.prepare(
        "SELECT relation_id, target FROM secret_grants WHERE xid=?1 ORDER BY target, relation_id",
    )?;
    Ok(st
        .query_map([xid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Forgets the model's grants to a removed application.
pub(crate) fn drop_model_grants_to(c: &Connection, app: &str) -> Result<()> {
    c.execute(
        "DELETE FROM secret_grants WHERE relation_id=?1 AND target=?2",
        params![MODEL_GRANT, app],
    )?;
    Ok(())
}
