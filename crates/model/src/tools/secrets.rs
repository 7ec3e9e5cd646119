//! What the secret tools read from the call: content arguments and files, and how an entry
//! of `secret-info-get` is shaped. The secrets themselves are `crate::secrets`.

use std::collections::BTreeMap;

use hook_tools::ToolError;
use hook_tools::output::SecretInfo;
use hook_tools::values::{SecretOwner, SecretValue};

use super::{Files, caller_file};

/// Reads content arguments; `key#file=` files were read by the shim, during the call: ops deletes them
/// right after (§8.5).
pub(super) fn secret_content(
    args: &[hook_tools::values::SecretContentArg],
    file: Option<&str>,
    files: &Files,
) -> Result<BTreeMap<String, String>, ToolError> {
    let mut out = BTreeMap::new();
    if let Some(f) = file {
        let bytes = caller_file(files, f)?;
        out.extend(
            hook_tools::settings::decode(bytes)
                .map_err(|e| ToolError::usage(format!("invalid secret file: {e}")))?,
        );
    }
    for a in args {
        let value = match &a.value {
            SecretValue::Inline(v) => v.clone(),
            SecretValue::Base64(v) => decode_base64(v)
                .ok_or_else(|| ToolError::usage(format!("invalid base64 value for {:?}", a.key)))?,
            SecretValue::File(p) => String::from_utf8_lossy(caller_file(files, p)?).into_owned(),
        };
        out.insert(a.key.clone(), value);
    }
    Ok(out)
}

pub(super) fn decode_base64(s: &str) -> Option<String> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.trim_end_matches('=').bytes() {
        let v = T.iter().position(|t| *t == ch)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The `secret-info-get` entry of a secret.
pub(crate) fn secret_info(
    owner_unit: bool,
    label: Option<String>,
    description: String,
    rotate: String,
    revision: i64,
    expiry: Option<i64>,
) -> SecretInfo {
    SecretInfo {
        revision: revision.max(0) as u32,
        label: label.unwrap_or_default(),
        owner: if owner_unit {
            "unit".into()
        } else {
            "application".into()
        },
        description: (!description.is_empty()).then_some(description),
        rotation: (!rotate.is_empty() && rotate != "never").then_some(rotate),
        expiry: expiry.map(crate::clock::format_rfc3339),
        rotates: None,
        access: Vec::new(),
    }
}

/// The owner spelled as `--owner` takes it.
pub(crate) fn wants_unit_owner(owner: Option<SecretOwner>) -> bool {
    matches!(owner, Some(SecretOwner::Unit))
}
