//! `certificate_transfer`: a provider publishes a set of CA certificates; requirers read it to
//! decide whom to trust (also across models). v1 and v0 are both served and read.
//!
//! - [`provider`]: [`TransferProvider`] writes the set (v1 in the app bag, v0 in the leader's
//!   unit bag for requirers that did not announce v1).
//! - [`requirer`]: [`TransferRequirer`] announces v1, reads v1 and both v0 encodings, and reports
//!   changes as [`TransferEvent`]s.

mod provider;
mod requirer;

pub use provider::TransferProvider;
pub use requirer::{TransferEvent, TransferRequirer};

use charm::{Endpoint, LogLevel, Model, Relation, RelationId};

use crate::error::{Error, Misuse};
use crate::wire::Warning;

/// The relation `id` of `endpoint` if it is live; `None` if it is gone or being broken (the
/// Python library does nothing for such a relation, or fails reading it). An id of another
/// endpoint is the caller's bug.
fn live_relation(
    model: &mut Model<'_>,
    endpoint: &Endpoint,
    id: &RelationId,
) -> Result<Option<Relation>, Error> {
    if id.endpoint() != endpoint {
        return Err(Misuse::UnknownRelation(id.clone()).into());
    }
    if !model.relation_ids(endpoint)?.contains(id) {
        return Ok(None);
    }
    Ok(Some(model.relation(id)?))
}

/// Logs each problem found in the other side's data; a failed log is not worth failing the hook.
fn log_warnings(model: &mut Model<'_>, warnings: &[Warning]) {
    for w in warnings {
        let _ = model.log(
            LogLevel::Warning,
            &format!("skipping bad relation data: {w}"),
        );
    }
}
