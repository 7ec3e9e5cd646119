//! [`Call::to_argv`]: the one modern argv the SDK sends.

use super::{Call, SecretMeta};
use crate::values::{RelationRef, SecretContentArg, SecretOwner, SecretUri};

impl Call {
    /// The modern (ops 3.8+ style) argv, argv\[0\] = the bare tool name.
    ///
    /// `parse_argv(&call.to_argv())` gives back `call` with [`Call::preferred_format`].
    pub fn to_argv(&self) -> Vec<String> {
        let mut a = Argv {
            args: vec![self.tool().name().to_owned()],
            ended: false,
        };
        if let Some(f) = self.preferred_format() {
            a.push(format!("--format={}", f.as_str()));
        }
        match self {
            Call::RelationIds { endpoint } => a.opt_pos(endpoint),
            Call::RelationList { relation, app } => {
                a.rel(relation);
                a.bool("--app", *app);
            }
            Call::RelationGet {
                relation,
                app,
                key,
                target,
            } => {
                a.rel(relation);
                a.bool("--app", *app);
                // `-` before free positionals is safe: gnuflag treats it as a positional.
                match (key, target) {
                    (None, None) => {}
                    (key, target) => {
                        a.end_flags();
                        a.push(key.clone().unwrap_or_else(|| "-".into()));
                        a.opt_pos(target);
                    }
                }
            }
            Call::RelationSet {
                relation,
                app,
                file,
                settings,
            } => {
                a.rel(relation);
                a.bool("--app", *app);
                if let Some(f) = file {
                    a.push("--file".into());
                    a.push(f.to_string());
                }
                a.pairs(settings);
            }
            Call::RelationModelGet { relation } => a.rel(relation),
            Call::ConfigGet { all, key } => {
                a.bool("--all", *all);
                a.tail(key.iter().cloned());
            }
            Call::IsLeader | Call::SecretIds | Call::GoalState => {}
            Call::LeaderGet { key } => a.tail(key.iter().cloned()),
            Call::LeaderSet { settings } => a.pairs(settings),
            Call::StatusGet {
                application,
                include_data,
            } => {
                a.bool("--include-data", *include_data);
                a.bool("--application", *application);
            }
            Call::StatusSet {
                application,
                status,
                message,
            } => {
                a.bool("--application", *application);
                a.push(status.as_str().into());
                if let Some(m) = message {
                    a.end_flags();
                    a.push(m.clone());
                }
            }
            Call::ApplicationVersionSet { version } => a.tail([version.clone()]),
            Call::JujuLog {
                level,
                debug,
                message,
            } => {
                if let Some(l) = level {
                    a.push("--log-level".into());
                    a.push(l.clone());
                }
                a.bool("--debug", *debug);
                a.tail([message.clone()]);
            }
            Call::ActionGet { key } => a.tail(key.iter().cloned()),
            Call::ActionSet { results } => a.pairs(results),
            Call::ActionLog { message } => a.tail([message.clone()]),
            Call::ActionFail { message } => a.tail(message.iter().cloned()),
            Call::SecretAdd {
                meta,
                owner,
                file,
                content,
            } => {
                a.secret_meta(meta, *owner, file);
                a.extend(content.iter().map(SecretContentArg::to_arg));
            }
            Call::SecretSet {
                uri,
                meta,
                owner,
                file,
                content,
            } => {
                a.secret_meta(meta, *owner, file);
                a.push(uri.to_string());
                a.extend(content.iter().map(SecretContentArg::to_arg));
            }
            Call::SecretGet {
                uri,
                key,
                label,
                refresh,
                peek,
            } => {
                if let Some(l) = label {
                    a.push("--label".into());
                    a.push(l.clone());
                }
                a.bool("--refresh", *refresh);
                a.bool("--peek", *peek);
                if let Some(u) = uri {
                    a.push(u.to_string());
                    a.opt_pos(key);
                }
            }
            Call::SecretInfoGet { uri, label } => {
                if let Some(l) = label {
                    a.push("--label".into());
                    a.push(l.clone());
                }
                a.opt_pos(&uri.as_ref().map(SecretUri::to_string));
            }
            Call::SecretGrant {
                uri,
                relation,
                unit,
            } => {
                a.push("--relation".into());
                a.push(relation.to_string());
                a.opt_flag("--unit", unit);
                a.push(uri.to_string());
            }
            Call::SecretRevoke {
                uri,
                relation,
                unit,
                app,
            } => {
                if let Some(r) = relation {
                    a.push("--relation".into());
                    a.push(r.to_string());
                }
                a.opt_flag("--unit", unit);
                a.opt_flag("--app", app);
                a.push(uri.to_string());
            }
            Call::SecretRemove { uri, revision } => {
                a.push(uri.to_string());
                a.opt_flag("--revision", &revision.map(|r| r.to_string()));
            }
            Call::OpenPort { port, endpoints } | Call::ClosePort { port, endpoints } => {
                a.push(port.to_string());
                a.opt_flag("--endpoints", endpoints);
            }
            Call::OpenedPorts { endpoints } => a.bool("--endpoints", *endpoints),
            Call::NetworkGet {
                binding,
                relation,
                ingress_address,
                bind_address,
                egress_subnets,
            } => {
                a.rel(relation);
                a.bool("--ingress-address", *ingress_address);
                a.bool("--bind-address", *bind_address);
                a.bool("--egress-subnets", *egress_subnets);
                a.tail([binding.clone()]);
            }
            Call::UnitGet { key } => a.tail([key.clone()]),
            Call::StateGet { key, strict } => {
                a.bool("--strict", *strict);
                a.tail(key.iter().cloned());
            }
            Call::StateSet { file, settings } => {
                if let Some(f) = file {
                    a.push("--file".into());
                    a.push(f.to_string());
                }
                a.pairs(settings);
            }
            Call::StateDelete { key } => a.tail([key.clone()]),
            Call::StorageList { name } => a.tail(name.iter().cloned()),
            Call::StorageGet { storage, key } => {
                a.opt_flag("-s", storage);
                a.tail(key.iter().cloned());
            }
            Call::StorageAdd { requests } => a.tail(requests.iter().cloned()),
            Call::ResourceGet { name } => a.tail([name.clone()]),
            Call::JujuReboot { now } => a.bool("--now", *now),
        }
        a.args
    }
}

/// Builder for argv.
struct Argv {
    args: Vec<String>,
    /// `--` was emitted: everything after is positional already.
    ended: bool,
}

impl Argv {
    fn push(&mut self, s: String) {
        self.args.push(s);
    }
    fn extend(&mut self, it: impl IntoIterator<Item = String>) {
        self.args.extend(it);
    }
    /// Emits `--` once; later positionals need no protection.
    fn end_flags(&mut self) {
        if !self.ended {
            self.args.push("--".into());
            self.ended = true;
        }
    }
    fn bool(&mut self, flag: &str, on: bool) {
        if on {
            self.push(flag.to_owned());
        }
    }
    fn rel(&mut self, r: &Option<RelationRef>) {
        if let Some(r) = r {
            self.push("-r".into());
            self.push(r.to_string());
        }
    }
    fn opt_flag(&mut self, flag: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.push(flag.to_owned());
            self.push(v.clone());
        }
    }
    /// A positional that is a name, never free text (cannot start with `-` in valid use); a
    /// value that does is protected with `--`.
    fn opt_pos(&mut self, v: &Option<String>) {
        if let Some(v) = v {
            if v.starts_with('-') && v != "-" {
                self.end_flags();
            }
            self.push(v.clone());
        }
    }
    /// Free text after `--`, so that text starting with `-` stays positional (ops >= 3.4).
    fn tail(&mut self, items: impl IntoIterator<Item = String>) {
        let items: Vec<String> = items.into_iter().collect();
        if !items.is_empty() {
            self.end_flags();
            self.extend(items);
        }
    }
    /// `key=value` pairs; a key cannot start with `-` (parse_pair rejects an empty key, and
    /// gnuflag would see a flag), so `--` protects them too.
    fn pairs(&mut self, pairs: &[(String, String)]) {
        self.tail(pairs.iter().map(|(k, v)| format!("{k}={v}")));
    }
    fn secret_meta(&mut self, m: &SecretMeta, owner: Option<SecretOwner>, file: &Option<String>) {
        self.opt_flag("--label", &m.label);
        self.opt_flag("--description", &m.description);
        self.opt_flag("--expire", &m.expire);
        self.opt_flag("--rotate", &m.rotate.map(|r| r.as_str().to_owned()));
        self.opt_flag("--owner", &owner.map(|o| o.as_str().to_owned()));
        self.opt_flag("--file", file);
    }
}
