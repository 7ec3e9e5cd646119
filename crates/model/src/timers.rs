//! What the virtual clock makes due: secret expiry and rotation for owners, update-status for
//! started units. Each fires when the clock passes it and is re-armed on the virtual clock, so
//! one `advance` fires each at most once and `wait` never waits for a timer that is not due.

use hook_tools::{HookKind, SecretHook};
use rusqlite::Connection;

use crate::error::Result;
use crate::store::{self, Hook};

/// Seconds before an unhandled secret-expired or secret-rotate fires again (Juju retries them
/// until the revision is removed or a new one is made).
pub(crate) const SECRET_RETRY: i64 = 300;

/// The unit that receives owner events of a secret: the owning unit, or the leader of the owning
/// application.
pub(crate) fn owner_unit(
    c: &Connection,
    owner_app: Option<&str>,
    owner_unit: Option<&str>,
) -> Result<Option<String>> {
    if let Some(u) = owner_unit {
        return Ok(Some(u.to_owned()));
    }
    // A model-owned secret has no unit to tell.
    let Some(owner_app) = owner_app else {
        return Ok(None);
    };
    Ok(store::app_units(c, owner_app)?
        .into_iter()
        .find(|u| u.leader && !u.dying)
        .map(|u| u.name))
}

/// Queues every timer due at `now` and re-arms it.
pub(crate) fn fire_due(c: &Connection, now: i64) -> Result<()> {
    for s in store::secrets::expiries_due(c, now)? {
        let rev = s.rev.unwrap_or_default();
        if let Some(owner) = owner_unit(c, s.owner_app.as_deref(), s.owner_unit.as_deref())? {
            store::enqueue(
                c,
                &Hook {
                    secret: Some(s.xid.clone()),
                    secret_rev: Some(rev),
                    ..Hook::new(owner, HookKind::Secret(SecretHook::Expired))
                },
            )?;
        }
        store::secrets::set_expire_due(c, &s.xid, rev, now + SECRET_RETRY)?;
    }
    for s in store::secrets::rotations_due(c, now)? {
        if let Some(owner) = owner_unit(c, s.owner_app.as_deref(), s.owner_unit.as_deref())? {
            store::enqueue(
                c,
                &Hook {
                    secret: Some(s.xid.clone()),
                    ..Hook::new(owner, HookKind::Secret(SecretHook::Rotate))
                },
            )?;
        }
        store::secrets::set_rotate_due(c, &s.xid, Some(now + SECRET_RETRY))?;
    }
    let interval = crate::model_config::update_status_interval(c)?;
    for unit in store::units::update_status_due(c, now)? {
        store::enqueue(c, &Hook::new(unit.clone(), HookKind::UpdateStatus))?;
        store::units::set_update_status_due(c, &unit, now + interval)?;
    }
    Ok(())
}

/// The earliest time any timer falls due: a secret's expiry or rotation, or a started unit's
/// update-status.
pub(crate) fn next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT MIN(t) FROM ( \
           SELECT MIN(expire_due) AS t FROM secret_revisions \
           UNION ALL SELECT MIN(rotate_due) FROM secrets \
           UNION ALL SELECT MIN(update_status_due) FROM units WHERE started=1 AND dying=0)",
        [],
        |r| r.get::<_, Option<i64>>(0),
    )?)
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
