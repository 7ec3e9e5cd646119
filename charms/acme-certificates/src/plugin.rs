//! The challenge plugin: HTTP-01, or DNS-01 through `rfc2136` with lego's variables, read
//! from the plugin-config secret's kebab-case keys (`rfc2136-nameserver` ->
//! `RFC2136_NAMESERVER`). A bad setting is a status message naming it, never a crash.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use charm::{HandlerError, Model};

use crate::config::{self, Config, Plugin};
use crate::order::{DnsSolver, Solver};
use crate::{dns, http01};

/// The solver from the config and the plugin secret; a message for status when unusable.
pub fn solver(
    model: &mut Model<'_>,
    config: &Config,
) -> Result<Result<Solver, String>, HandlerError> {
    match config.plugin {
        Plugin::Http => Ok(Ok(Solver::Http(http01::Tokens::default()))),
        Plugin::Rfc2136 => {
            let id = config
                .plugin_config_secret_id
                .as_deref()
                .unwrap_or_default();
            let content = match crate::user_secret(model, id, "plugin-config-secret-id")? {
                Ok(c) => c,
                Err(_) => return Ok(Err("plugin configuration secret is not available".into())),
            };
            Ok(dns_solver(&content, config).map(|d| Solver::Dns(Arc::new(d))))
        }
    }
}

/// lego's rfc2136 variables from the secret's kebab-case keys.
pub fn dns_solver(
    content: &BTreeMap<String, String>,
    config: &Config,
) -> Result<DnsSolver, String> {
    // SEQUENCE_INTERVAL spaces lego's sequential updates; ours are one per record: accepted
    // so a lego secret applies unchanged.
    const KNOWN: [&str; 9] = [
        "RFC2136_NAMESERVER",
        "RFC2136_TSIG_KEY",
        "RFC2136_TSIG_SECRET",
        "RFC2136_TSIG_ALGORITHM",
        "RFC2136_TTL",
        "RFC2136_DNS_TIMEOUT",
        "RFC2136_PROPAGATION_TIMEOUT",
        "RFC2136_POLLING_INTERVAL",
        "RFC2136_SEQUENCE_INTERVAL",
    ];
    let vars: BTreeMap<String, String> = content
        .iter()
        .map(|(k, v)| (k.to_uppercase().replace('-', "_"), v.trim().to_owned()))
        .collect();
    let unknown: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "plugin-config-secret-id has settings the rfc2136 plugin does not know: {} (known: {})",
            unknown.join(", "),
            KNOWN.join(", ")
        ));
    }
    let Some(server) = vars.get("RFC2136_NAMESERVER") else {
        return Err("The following config options must be set: RFC2136_NAMESERVER".into());
    };
    let server =
        config::parse_nameserver(server).map_err(|m| format!("RFC2136_NAMESERVER: {m}"))?;
    let key_name = vars.get("RFC2136_TSIG_KEY");
    let secret = vars.get("RFC2136_TSIG_SECRET");
    let (Some(key_name), Some(secret)) = (key_name, secret) else {
        return Err(
            "The following config options must be set: RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET (updates without TSIG are not supported)"
                .into(),
        );
    };
    let algorithm = match vars.get("RFC2136_TSIG_ALGORITHM") {
        None => dns::Algorithm::Sha1,
        Some(a) => dns::Algorithm::parse(a).ok_or_else(|| {
            format!(
                "RFC2136_TSIG_ALGORITHM {a:?} is not supported (supported: {})",
                dns::Algorithm::SUPPORTED
            )
        })?,
    };
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .map_err(|_| "RFC2136_TSIG_SECRET is not base64".to_owned())?;
    if key_name.is_empty() || secret.is_empty() {
        return Err("RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET must not be empty".into());
    }
    let name = dns::Name::parse(key_name).map_err(|e| format!("RFC2136_TSIG_KEY: {e}"))?;
    let number = |var: &str, default: u64| -> Result<u64, String> {
        vars.get(var).map_or(Ok(default), |v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{var} must be a positive integer (got {v:?})"))
        })
    };
    let ttl = u32::try_from(number("RFC2136_TTL", 120)?).map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(number("RFC2136_DNS_TIMEOUT", 10)?.min(300));
    // lego's defaults for rfc2136: poll every 2 s for up to 60 s.
    let propagation_timeout =
        Duration::from_secs(number("RFC2136_PROPAGATION_TIMEOUT", 60)?.min(3600));
    let polling_interval = Duration::from_secs(number("RFC2136_POLLING_INTERVAL", 2)?.min(60));
    let updater = |addr| {
        dns::Updater::new(
            addr,
            dns::Key::new(name.clone(), algorithm, &secret),
            timeout,
            ttl,
        )
    };
    Ok(DnsSolver {
        updater: updater(server),
        lookup: config.dns_nameservers.iter().map(|a| updater(*a)).collect(),
        follow_cnames: !config.disable_cname_support,
        propagation_wait: config.dns_propagation_wait,
        propagation_timeout,
        polling_interval,
    })
}
