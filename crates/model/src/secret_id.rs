//! Secret identities: a 20-character xid, spelled `secret:<xid>`, `secret://<model-uuid>/<xid>`
//! or bare. ops passes `JUJU_SECRET_ID` through verbatim and canonicalises only bare ids, so the
//! server must accept all three.

/// The URI `secret-add` prints: `secret://<model-uuid>/<xid>` (the 3.6 facade form).
pub(crate) fn uri(model_uuid: &str, xid: &str) -> String {
    format!("secret://{model_uuid}/{xid}")
}

/// The URI `add-secret` prints for a user secret: `secret:<xid>` (Juju's user secrets carry no
/// model UUID).
pub(crate) fn short_uri(xid: &str) -> String {
    format!("secret:{xid}")
}

/// A fresh xid: 20 characters of base32hex (`0-9a-v`), as Juju's rs/xid produces.
pub(crate) fn new_xid() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let mut bytes = [0u8; 20];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| ALPHABET[((*b as u128 + (nanos >> (i % 16))) % 32) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_xids_and_round_trip_through_uris() {
        let x = new_xid();
        assert_eq!(
            hook_tools::SecretUri::new(uri("cdac5656-2423", &x)).xid(),
            x
        );
        assert!(
            x.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
        );
        assert_eq!(new_xid().len(), 20);
    }
}
