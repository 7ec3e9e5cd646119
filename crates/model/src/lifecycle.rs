//! Juju's lifecycle rules: which hooks a change queues, for which units, in what order. The
//! verbs (`verbs.rs`) check their input and record the change; these functions, called in the
//! verb's transaction, queue what Juju would run for it (`juju-hook-environment.md` §3).

use hook_tools::{HookKind, RelationHook};
use rusqlite::Connection;

use crate::error::{Result, UsageError};
use crate::names;
use crate::store::{self, Hook, Relation};

/// Queues a new unit's start-up block in Juju's order: install, relation-created for the
/// relations that exist, leader-elected or leader-settings-changed, config-changed, start.
pub(crate) fn queue_startup(c: &Connection, unit: &str) -> Result<()> {
    let u = store::unit(c, unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
    store::enqueue(c, &Hook::new(unit, HookKind::Install))?;
    for r in store::relations(c)?
        .into_iter()
        .filter(|r| r.involves(&u.app) && !r.dying)
    {
        store::enqueue(
            c,
            &Hook {
                relation_id: Some(r.id),
                remote_app: r.other_app(&u.app).to_owned(),
                ..Hook::new(
                    unit,
                    HookKind::relation(r.endpoint_of(&u.app), RelationHook::Created),
                )
            },
        )?;
    }
    let leadership = if u.leader {
        HookKind::LeaderElected
    } else {
        HookKind::LeaderSettingsChanged
    };
    store::enqueue(c, &Hook::new(unit, leadership))?;
    store::enqueue(c, &Hook::new(unit, HookKind::ConfigChanged))?;
    store::enqueue(c, &Hook::new(unit, HookKind::Start))?;
    Ok(())
}

/// Makes `unit` the leader of `app`: it runs leader-elected, the other live units
/// leader-settings-changed.
pub(crate) fn elect(c: &Connection, app: &str, unit: &str) -> Result<()> {
    store::units::set_leader(c, app, unit)?;
    for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
        let hook = if u.name == unit {
            HookKind::LeaderElected
        } else {
            HookKind::LeaderSettingsChanged
        };
        store::enqueue(c, &Hook::new(u.name, hook))?;
    }
    Ok(())
}

/// Leader settings changed: every live non-leader of `app` runs leader-settings-changed.
pub(crate) fn leader_settings_changed(c: &Connection, app: &str) -> Result<()> {
    for u in store::app_units(c, app)?
        .into_iter()
        .filter(|u| !u.leader && !u.dying)
    {
        store::enqueue(c, &Hook::new(u.name, HookKind::LeaderSettingsChanged))?;
    }
    Ok(())
}

/// A new relation: every live unit of both sides runs relation-created.
pub(crate) fn relation_created(c: &Connection, r: &Relation) -> Result<()> {
    for (app, ep, other) in [(&r.app_a, &r.ep_a, &r.app_b), (&r.app_b, &r.ep_b, &r.app_a)] {
        for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
            store::enqueue(
                c,
                &Hook {
                    relation_id: Some(r.id),
                    remote_app: other.clone(),
                    ..Hook::new(u.name, HookKind::relation(ep, RelationHook::Created))
                },
            )?;
        }
    }
    Ok(())
}

/// Config changed: every live unit of `app` runs config-changed.
pub(crate) fn config_changed(c: &Connection, app: &str) -> Result<()> {
    for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
        store::enqueue(c, &Hook::new(u.name, HookKind::ConfigChanged))?;
    }
    Ok(())
}

/// A refreshed charm: every live unit of `app` runs upgrade-charm then config-changed.
pub(crate) fn upgraded(c: &Connection, app: &str) -> Result<()> {
    for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
        store::enqueue(c, &Hook::new(u.name.clone(), HookKind::UpgradeCharm))?;
        store::enqueue(c, &Hook::new(u.name, HookKind::ConfigChanged))?;
    }
    Ok(())
}

/// An action run: queued on its unit after the hooks already waiting.
pub(crate) fn action_queued(c: &Connection, unit: &str, action: &str, id: i64) -> Result<()> {
    let kind = HookKind::Action {
        name: action.to_owned(),
    };
    store::enqueue(
        c,
        &Hook {
            action_id: Some(id),
            ..Hook::new(unit, kind)
        },
    )
}

/// The hook name of a `juju exec` command (Juju's own for its exec contexts).
pub(crate) const EXEC_HOOK: &str = "juju-exec";

/// Queues a `juju exec` command as a hook with a task id.
pub(crate) fn exec_queued(c: &Connection, unit: &str, id: i64) -> Result<()> {
    store::enqueue(
        c,
        &Hook {
            action_id: Some(id),
            ..Hook::new(unit, HookKind::Other(EXEC_HOOK.to_owned()))
        },
    )
}

/// A departed hook of `unit` on `r`, for `remote` leaving (or `unit` itself leaving: then
/// `departing` is `unit`).
pub(crate) fn departed(
    r: &Relation,
    ep: &str,
    unit: &str,
    remote: &str,
    departing: &str,
) -> Result<Hook> {
    Ok(Hook {
        relation_id: Some(r.id),
        remote_unit: remote.to_owned(),
        remote_app: names::app_of(remote)?.to_owned(),
        departing: departing.to_owned(),
        ..Hook::new(unit, HookKind::relation(ep, RelationHook::Departed))
    })
}

/// The broken hook of `unit` (of `app`) on `r`.
fn broken(r: &Relation, unit: &str, app: &str) -> Hook {
    Hook {
        relation_id: Some(r.id),
        remote_app: r.other_app(app).to_owned(),
        ..Hook::new(
            unit,
            HookKind::relation(r.endpoint_of(app), RelationHook::Broken),
        )
    }
}

/// Queues the teardown of one unit: departed for every unit it saw (and for it, on the units
/// that saw it), broken for its non-peer relations, then stop and remove. With
/// `app_dying`, non-peer relations are handled by [`dying_relation`] instead.
pub(crate) fn teardown_unit(c: &Connection, unit: &str, app_dying: bool) -> Result<()> {
    let u = store::unit(c, unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
    store::units::mark_dying(c, unit)?;
    store::hooks::drop_hooks_of_unit(c, unit)?;
    store::units::leave_error(c, unit)?;
    for r in store::relations(c)?
        .into_iter()
        .filter(|r| r.involves(&u.app))
    {
        if !store::scope(c, r.id)?.contains(&u.name) || (app_dying && !r.peer) || r.dying {
            continue;
        }
        let ep = r.endpoint_of(&u.app).to_owned();
        for other in store::scope(c, r.id)? {
            if other == u.name {
                continue;
            }
            let oa = names::app_of(&other)?.to_owned();
            let ep_o = r.endpoint_of(&oa).to_owned();
            store::hooks::drop_arrivals_from(c, &other, r.id, &u.name)?;
            if store::seen(c, r.id, &other)?.contains(&u.name) {
                store::enqueue(c, &departed(&r, &ep_o, &other, &u.name, &u.name)?)?;
            }
        }
        for w in store::seen(c, r.id, &u.name)? {
            store::enqueue(c, &departed(&r, &ep, &u.name, &w, &u.name)?)?;
        }
        if !r.peer {
            store::enqueue(c, &broken(&r, &u.name, &u.app))?;
        }
    }
    store::enqueue(c, &Hook::new(unit, HookKind::Stop))?;
    store::enqueue(c, &Hook::new(unit, HookKind::Remove))?;
    Ok(())
}

/// Marks a relation dying and queues departed (for every unit each side saw) and broken on every
/// unit in scope. A relation nobody entered is deleted at once.
pub(crate) fn dying_relation(c: &Connection, id: i64) -> Result<()> {
    let r = store::relation(c, id)?.ok_or_else(|| UsageError::UnknownRelation(id.to_string()))?;
    store::relations::mark_dying(c, id)?;
    store::hooks::drop_arrivals_on(c, id)?;
    let scope = store::scope(c, id)?;
    for u in &scope {
        let app = names::app_of(u)?.to_owned();
        let ep = r.endpoint_of(&app).to_owned();
        for w in store::seen(c, id, u)? {
            store::enqueue(c, &departed(&r, &ep, u, &w, &w)?)?;
        }
        store::enqueue(c, &broken(&r, u, &app))?;
    }
    if scope.is_empty() {
        store::relations::delete(c, id)?;
    }
    Ok(())
}

/// Forgets an application whose units are all gone, with its relations.
pub(crate) fn delete_app(c: &Connection, app: &str) -> Result<()> {
    for r in store::relations(c)?.into_iter().filter(|r| r.involves(app)) {
        store::relations::delete(c, r.id)?;
    }
    // Its offers go with it (only a destroyed model removes an offered application).
    store::crossmodel::delete_offers_of(c, app)?;
    store::apps::delete(c, app)
}
