//! Secrets (`juju-hook-environment.md` §8): add with label, description, expiry, rotation and
//! owner; read by id or label with peek / refresh; update content and metadata; grant, revoke,
//! remove; list; info. Leader-only rules for application-owned secrets are checked here.

use hook_tools::error::msg;
use hook_tools::values::SecretOwner;

use super::Model;
use crate::backend::{
    BackendError, NewSecret, SecretContent, SecretInfo, SecretLookup, SecretRead, SecretUpdate,
};
use crate::error::Error;
use crate::names::{RelationId, SecretId, UnitName};

impl Model<'_> {
    /// Creates a secret (revision 1, at commit; readable in this hook already). An
    /// application-owned secret needs leadership.
    pub fn add_secret(&mut self, secret: &NewSecret) -> Result<SecretId, Error> {
        if secret.owner == SecretOwner::Application && !self.is_leader()? {
            return Err(BackendError::NotLeader(msg::NOT_LEADER.into()).into());
        }
        Ok(self.backend.secret_add(secret)?)
    }

    /// Reads a secret's content. Owners always get the latest revision; consumers get the
    /// revision they track ([`SecretRead::Tracked`]), the latest without tracking it
    /// ([`SecretRead::Peek`]) or the latest, tracked from now on ([`SecretRead::Refresh`]).
    pub fn secret(
        &mut self,
        lookup: &SecretLookup,
        read: SecretRead,
    ) -> Result<SecretContent, Error> {
        Ok(self.backend.secret_get(lookup, read)?)
    }

    /// Changes an owned secret's content (a new revision at commit, unless unchanged) and/or
    /// metadata.
    pub fn update_secret(&mut self, id: &SecretId, update: &SecretUpdate) -> Result<(), Error> {
        Ok(self.backend.secret_set(id, update)?)
    }

    /// What the owner knows about a secret: revision, label, expiry, …
    pub fn secret_info(&mut self, lookup: &SecretLookup) -> Result<SecretInfo, Error> {
        Ok(self.backend.secret_info(lookup)?)
    }

    /// The secrets this unit owns (and its application's, when leader).
    pub fn secret_ids(&mut self) -> Result<Vec<SecretId>, Error> {
        Ok(self.backend.secret_ids()?)
    }

    /// Lets the remote application of `relation` (or one of its units) read the secret.
    pub fn grant_secret(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<(), Error> {
        Ok(self.backend.secret_grant(id, relation, unit)?)
    }

    /// Undoes a grant.
    pub fn revoke_secret(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<(), Error> {
        Ok(self.backend.secret_revoke(id, relation, unit)?)
    }

    /// Removes one revision, or the whole secret with `None`.
    pub fn remove_secret(&mut self, id: &SecretId, revision: Option<u32>) -> Result<(), Error> {
        Ok(self.backend.secret_remove(id, revision)?)
    }

    /// An RFC 3339 UTC timestamp `seconds` from now on the model's clock, for
    /// [`NewSecret::expire`] and [`SecretUpdate::expire`].
    pub fn expiry_in(&self, seconds: i64) -> String {
        rfc3339(self.now().saturating_add(seconds))
    }
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(unix: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
    }
}
