//! What the virtual clock makes due: secret expiry and rotation for owners, update-status for
//! started units. Each fires when the clock passes it and is re-armed on the virtual clock, so
//! one `advance` fires each at most once and `wait` never waits for a timer that is not due.

use rusqlite::{Connection, params};

use crate::error::Result;
use crate::model::UPDATE_STATUS_INTERVAL;
use crate::store::{self, Hook};

/// Seconds before an unhandled secret-expired or secret-rotate fires again (Juju retries them
/// until the revision is removed or a new one is made).
pub(crate) const SECRET_RETRY: i64 = 300;

/// The unit that receives owner events of a secret: the owning unit, or the leader of the owning
/// application.
pub(crate) fn owner_unit(
    c: &Connection,
    owner_app: &str,
    owner_unit: Option<&str>,
) -> Result<Option<String>> {
    if let Some(u) = owner_unit {
        return Ok(Some(u.to_owned()));
    }
    Ok(store::app_units(c, owner_app)?
        .into_iter()
        .find(|u| u.leader && !u.dying)
        .map(|u| u.name))
}

/// Queues every timer due at `now` and re-arms it.
pub(crate) fn fire_due(c: &Connection, now: i64) -> Result<()> {
    let expired: Vec<(String, i64, String, Option<String>)> = {
        let mut st = c.prepare(
            "SELECT r.xid, r.rev, s.owner_app, s.owner_unit FROM secret_revisions r JOIN secrets s ON s.xid=r.xid \
             WHERE r.expire_due IS NOT NULL AND r.expire_due<=?1 ORDER BY r.expire_due",
        )?;
        st.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (xid, rev, app, unit) in expired {
        if let Some(owner) = owner_unit(c, &app, unit.as_deref())? {
            store::enqueue(
                c,
                &Hook {
                    unit: owner,
                    hook: "secret-expired".into(),
                    secret: Some(xid.clone()),
                    secret_rev: Some(rev),
                    ..Hook::default()
                },
            )?;
        }
        c.execute(
            "UPDATE secret_revisions SET expire_due=?3 WHERE xid=?1 AND rev=?2",
            params![xid, rev, now + SECRET_RETRY],
        )?;
    }
    let rotate: Vec<(String, String, Option<String>)> = {
        let mut st = c.prepare("SELECT xid, owner_app, owner_unit FROM secrets WHERE rotate_due IS NOT NULL AND rotate_due<=?1 ORDER BY rotate_due")?;
        st.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (xid, app, unit) in rotate {
        if let Some(owner) = owner_unit(c, &app, unit.as_deref())? {
            store::enqueue(
                c,
                &Hook {
                    unit: owner,
                    hook: "secret-rotate".into(),
                    secret: Some(xid.clone()),
                    ..Hook::default()
                },
            )?;
        }
        c.execute(
            "UPDATE secrets SET rotate_due=?2 WHERE xid=?1",
            params![xid, now + SECRET_RETRY],
        )?;
    }
    let due: Vec<String> = {
        let mut st = c.prepare("SELECT name FROM units WHERE started=1 AND dying=0 AND update_status_due<=?1 ORDER BY app, num")?;
        st.query_map([now], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for unit in due {
        store::enqueue(
            c,
            &Hook {
                unit: unit.clone(),
                hook: "update-status".into(),
                ..Hook::default()
            },
        )?;
        c.execute(
            "UPDATE units SET update_status_due=?2 WHERE name=?1",
            params![unit, now + UPDATE_STATUS_INTERVAL],
        )?;
    }
    Ok(())
}

/// Seconds of a `--rotate` policy.
pub(crate) fn rotate_interval(policy: &str) -> Option<i64> {
    Some(match policy {
        "hourly" => 3600,
        "daily" => 86400,
        "weekly" => 7 * 86400,
        "monthly" => 30 * 86400,
        "quarterly" => 90 * 86400,
        "yearly" => 365 * 86400,
        _ => return None,
    })
}
