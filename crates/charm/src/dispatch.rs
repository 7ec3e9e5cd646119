//! The fixed order of one dispatch, shared by real hooks ([`main`]) and the test harness:
//!
//! 1. re-deliver deferred events, oldest first;
//! 2. deliver the event of this dispatch;
//! 3. after each delivery, deliver the custom events its handler emitted (FIFO);
//! 4. if every handler succeeded: send buffered writes ([`crate::Backend::commit`]) and save the
//!    charm state; otherwise change nothing, so Juju's retry of the hook starts from the same
//!    place (`juju-hook-environment.md` §3.3, §10.2).

use std::process::ExitCode;

use crate::backend::{HookTools, LogLevel};
use crate::charm_state::CharmState;
use crate::context::Context;
use crate::error::{Error, HandlerError};
use crate::event::Event;
use crate::metadata::CharmMeta;
use crate::model::Model;

/// At most this many custom events per dispatch: a guard against emit loops.
const MAX_CUSTOM_EVENTS: usize = 1000;

/// A charm: one handler for every event.
///
/// Match on the events you care about and ignore the rest; see [`crate::event`] for the
/// recommended reconcile style.
pub trait Charm {
    /// Handles one event. An error fails the hook: Juju discards its writes and retries it.
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError>;
}

/// Delivers `event` (after the deferred ones) and commits. The charm state in `model` is
/// updated in place; the caller persists it.
pub fn run_dispatch<C: Charm + ?Sized>(
    charm: &mut C,
    model: &mut Model<'_>,
    event: Event,
) -> Result<(), Error> {
    let deferred = std::mem::take(&mut model.charm_state().deferred);
    let mut still_deferred = Vec::new();
    for ev in deferred {
        if deliver(charm, model, &ev)? {
            still_deferred.push(ev);
        }
    }
    if deliver(charm, model, &event)? {
        still_deferred.push(event);
    }
    model.charm_state().deferred = still_deferred;
    model.commit()
}

/// Delivers one event and the custom events it causes; returns whether it was deferred.
fn deliver<C: Charm + ?Sized>(
    charm: &mut C,
    model: &mut Model<'_>,
    event: &Event,
) -> Result<bool, Error> {
    let mut queue = std::collections::VecDeque::new();
    let deferred = handle_one(charm, model, event, &mut queue)?;
    let mut count = 0;
    while let Some(custom) = queue.pop_front() {
        count += 1;
        if count > MAX_CUSTOM_EVENTS {
            return Err(Error::EventLoop(MAX_CUSTOM_EVENTS));
        }
        let ev = Event::Custom(custom);
        if handle_one(charm, model, &ev, &mut queue)? {
            // A deferred custom event joins the deferred queue like any other.
            model.charm_state().deferred.push(ev);
        }
    }
    Ok(deferred)
}

fn handle_one<C: Charm + ?Sized>(
    charm: &mut C,
    model: &mut Model<'_>,
    event: &Event,
    queue: &mut std::collections::VecDeque<crate::event::CustomEvent>,
) -> Result<bool, Error> {
    model.begin(event);
    let result = charm.handle(event, model);
    let (deferred, emitted) = model.finish();
    result.map_err(|source| Error::Handler {
        event: describe(event),
        source,
    })?;
    queue.extend(emitted);
    Ok(deferred)
}

fn describe(event: &Event) -> String {
    match event {
        Event::Custom(c) => c.name.clone(),
        Event::Action(a) => format!("{}-action", a.name),
        Event::Other { hook } => hook.clone(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "event".to_owned()),
    }
}

/// The entry point of a charm binary: reads the dispatch context from the environment, runs the
/// event through `charm` with the real hook tools, and returns the exit code Juju expects.
///
/// ```no_run
/// use juju_charm::{Charm, Event, HandlerError, Model};
///
/// struct MyCharm;
/// impl Charm for MyCharm {
///     fn handle(&mut self, _event: &Event, _model: &mut Model<'_>) -> Result<(), HandlerError> {
///         Ok(())
///     }
/// }
///
/// fn main() -> std::process::ExitCode {
///     juju_charm::main(MyCharm)
/// }
/// ```
pub fn main<C: Charm>(mut charm: C) -> ExitCode {
    match run_from_env(&mut charm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Juju logs stderr at WARNING; the juju-log call above (if it got that far) is the
            // one operators see at ERROR.
            eprintln!("charm: {e}");
            ExitCode::FAILURE
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned())
}

fn run_from_env<C: Charm>(charm: &mut C) -> Result<(), Error> {
    let ctx = Context::from_env()?;
    let meta = CharmMeta::from_charm_dir(&ctx.charm_dir)?;
    let state_path = CharmState::path_in(&ctx.charm_dir);
    let mut state = CharmState::load(&state_path)?;
    let loaded = state.clone();
    let event = Event::from_context(&ctx)?;
    let mut backend = HookTools::new(ctx.unit.clone());
    let result = {
        let mut model = Model::new(&ctx, &meta, &mut backend, &mut state);
        // A panic must fail the hook like an error, and be explained in the unit's log (ops does
        // the same for uncaught exceptions, transcripts D18), not only on stderr.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_dispatch(charm, &mut model, event)
        }))
        .unwrap_or_else(|payload| Err(Error::Panic(panic_message(payload.as_ref()))));
        if let Err(e) = &r {
            // Best effort: the hook fails anyway.
            let _ = model.log(LogLevel::Error, &format!("hook failed: {e}"));
        }
        r
    };
    result?;
    // Most hooks of a reconciling charm change nothing here: skip the write (and its fsync).
    if state != loaded {
        state.save(&state_path)?;
    }
    Ok(())
}
