//! Transaction signatures (TSIG, RFC 8945): a shared-secret HMAC over a DNS message, so the
//! name server accepts our updates and we know its answers are its own.

use aws_lc_rs::hmac;

use super::wire::{CLASS_ANY, MessageWriter, Name, Response, TYPE_TSIG, WireError};

/// Seconds of clock skew the server may allow (RFC 8945 recommends 300).
const FUDGE: u16 = 300;

/// The HMAC algorithms name servers offer; names as RFC 8945 §6 spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `hmac-sha1.` (lego's default).
    Sha1,
    /// `hmac-sha224.` is not offered by aws-lc-rs's HMAC; the common ones are.
    Sha256,
    /// `hmac-sha384.`
    Sha384,
    /// `hmac-sha512.`
    Sha512,
}

impl Algorithm {
    /// Parses lego's spellings: `hmac-sha256.`, `hmac-sha256` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha1" => Some(Self::Sha1),
            "hmac-sha256" => Some(Self::Sha256),
            "hmac-sha384" => Some(Self::Sha384),
            "hmac-sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The names [`Self::parse`] accepts, for messages.
    pub const SUPPORTED: &'static str = "hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512";

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "hmac-sha1",
            Self::Sha256 => "hmac-sha256",
            Self::Sha384 => "hmac-sha384",
            Self::Sha512 => "hmac-sha512",
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// A TSIG key: its name, algorithm and secret.
pub struct Key {
    name: Name,
    algorithm: Algorithm,
    key: hmac::Key,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Why an answer's signature is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsigError {
    /// The server answered with a TSIG error (RFC 8945 §5.2).
    #[error("the name server refused our TSIG signature: {0}")]
    Refused(&'static str),
    /// The answer carries no signature, or one that does not verify.
    #[error("the name server's answer is {0}")]
    BadAnswer(&'static str),
    /// The answer cannot be read.
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl Key {
    /// A key from its name, algorithm and secret bytes (base64-decoded by the caller).
    pub fn new(name: Name, algorithm: Algorithm, secret: &[u8]) -> Self {
        Self {
            name,
            key: hmac::Key::new(algorithm.hmac(), secret),
            algorithm,
        }
    }

    /// Signs the message in `w` at `now` (Unix seconds): appends the TSIG record and returns
    /// its MAC, which the answer's MAC covers.
    pub(crate) fn sign(&self, w: &mut MessageWriter, now: u64) -> Vec<u8> {
        let id = u16::from_be_bytes([w.bytes[0], w.bytes[1]]);
        let mut data = w.bytes.clone();
        self.variables(&mut data, now, 0, &[]);
        let mac = hmac::sign(&self.key, &data).as_ref().to_vec();
        let rdata = self.rdata(now, &mac, id);
        w.record(&self.name, TYPE_TSIG, CLASS_ANY, 0, &rdata);
        w.bump_additional();
        mac
    }

    /// Verifies the TSIG record that must end `answer`, given the request's MAC and our time
    /// (the answer's time must be within its fudge of ours, RFC 8945 §5.4.3).
    pub(crate) fn verify(
        &self,
        answer: &Response<'_>,
        request_mac: &[u8],
        now: u64,
    ) -> Result<(), TsigError> {
        let Some(tsig) = answer.additional.last().filter(|r| r.rtype == TYPE_TSIG) else {
            return Err(TsigError::BadAnswer("not signed"));
        };
        let mut r = answer.rdata_reader(tsig);
        let algorithm = r.name()?;
        let time = r.u48()?;
        let fudge = r.u16()?;
        let mac_len = usize::from(r.u16()?);
        let mac = r.take(mac_len)?.to_vec();
        let original_id = r.u16()?;
        let error = r.u16()?;
        let other_len = usize::from(r.u16()?);
        let other = r.take(other_len)?.to_vec();
        match error {
            0 => {}
            16 => return Err(TsigError::Refused("BADSIG (the secret does not match)")),
            17 => {
                return Err(TsigError::Refused(
                    "BADKEY (the server does not know the key name or algorithm)",
                ));
            }
            18 => {
                return Err(TsigError::Refused(
                    "BADTIME (the clocks differ by more than the fudge)",
                ));
            }
            _ => return Err(TsigError::Refused("an unknown TSIG error")),
        }
        if tsig.name != self.name || algorithm != Name::parse(self.algorithm.name())? {
            return Err(TsigError::BadAnswer("signed with another key"));
        }
        // The message as it was before the server appended the TSIG record.
        let mut data = Vec::with_capacity(answer.bytes.len() + request_mac.len() + 64);
        data.extend_from_slice(&(request_mac.len() as u16).to_be_bytes());
        data.extend_from_slice(request_mac);
        let mut message = answer.bytes[..tsig.start].to_vec();
        message[0..2].copy_from_slice(&original_id.to_be_bytes());
        let arcount = u16::from_be_bytes([message[10], message[11]]).saturating_sub(1);
        message[10..12].copy_from_slice(&arcount.to_be_bytes());
        data.extend_from_slice(&message);
        self.name.write(&mut data);
        data.extend_from_slice(&CLASS_ANY.to_be_bytes());
        data.extend_from_slice(&0u32.to_be_bytes());
        algorithm.write(&mut data);
        data.extend_from_slice(&time.to_be_bytes()[2..]);
        data.extend_from_slice(&fudge.to_be_bytes());
        data.extend_from_slice(&error.to_be_bytes());
        data.extend_from_slice(&(other.len() as u16).to_be_bytes());
        data.extend_from_slice(&other);
        hmac::verify(&self.key, &data, &mac)
            .map_err(|_| TsigError::BadAnswer("signed with a MAC that does not verify"))?;
        if time.abs_diff(now) > u64::from(fudge) {
            return Err(TsigError::BadAnswer(
                "signed at a time outside its fudge window",
            ));
        }
        Ok(())
    }

    /// The TSIG variables of RFC 8945 §4.3.3, appended to `data`.
    fn variables(&self, data: &mut Vec<u8>, now: u64, error: u16, other: &[u8]) {
        self.name.write(data);
        data.extend_from_slice(&CLASS_ANY.to_be_bytes());
        data.extend_from_slice(&0u32.to_be_bytes());
        self.algorithm_name().write(data);
        data.extend_from_slice(&now.to_be_bytes()[2..]);
        data.extend_from_slice(&FUDGE.to_be_bytes());
        data.extend_from_slice(&error.to_be_bytes());
        data.extend_from_slice(&(other.len() as u16).to_be_bytes());
        data.extend_from_slice(other);
    }

    fn rdata(&self, now: u64, mac: &[u8], id: u16) -> Vec<u8> {
        let mut rdata = Vec::with_capacity(64 + mac.len());
        self.algorithm_name().write(&mut rdata);
        rdata.extend_from_slice(&now.to_be_bytes()[2..]);
        rdata.extend_from_slice(&FUDGE.to_be_bytes());
        rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        rdata.extend_from_slice(mac);
        rdata.extend_from_slice(&id.to_be_bytes());
        rdata.extend_from_slice(&0u16.to_be_bytes());
        rdata.extend_from_slice(&0u16.to_be_bytes());
        rdata
    }

    fn algorithm_name(&self) -> Name {
        Name::parse(self.algorithm.name()).unwrap_or_else(|_| Name::root())
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::{OPCODE_UPDATE, Response};
    use super::*;

    fn key(secret: &[u8]) -> Key {
        Key::new(Name::parse("acme-key").unwrap(), Algorithm::Sha256, secret)
    }

    /// A server's answer to `request`, signed as RFC 8945 §4.3.1 says, built independently of
    /// `verify` (the request MAC first, then the answer, then the variables).
    fn signed_answer(k: &Key, request_mac: &[u8], tamper: bool) -> Vec<u8> {
        let w = MessageWriter::new(0x1234, OPCODE_UPDATE, [0, 0, 0, 0]);
        let mut answer = w.bytes.clone();
        answer[2] |= 0x80;
        let mut data = (request_mac.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(request_mac);
        data.extend_from_slice(&answer);
        k.variables(&mut data, 1_700_000_000, 0, &[]);
        let mac = hmac::sign(&k.key, &data).as_ref().to_vec();
        let mut w = MessageWriter { bytes: answer };
        let mut rdata = k.rdata(1_700_000_000, &mac, 0x1234);
        if tamper {
            let last = rdata.len() - 7;
            rdata[last] ^= 1;
        }
        w.record(&k.name, TYPE_TSIG, CLASS_ANY, 0, &rdata);
        w.bump_additional();
        w.bytes
    }

    #[test]
    fn a_signed_request_carries_one_tsig_record_that_reads_back() {
        let k = key(b"0123456789abcdef");
        let mut w = MessageWriter::new(0x1234, OPCODE_UPDATE, [1, 0, 0, 0]);
        w.question(&Name::parse("example.test").unwrap(), 6, 1);
        let mac = k.sign(&mut w, 1_700_000_000);
        assert_eq!(mac.len(), 32);
        // Read as a response: the counts include our record.
        let r = Response::parse(&w.bytes).unwrap();
        assert_eq!(r.additional.len(), 1);
        assert_eq!(r.additional[0].rtype, TYPE_TSIG);
        assert_eq!(r.additional[0].name.to_string(), "acme-key.");
    }

    #[test]
    fn answers_verify_only_with_the_right_secret_and_request_mac() {
        let k = key(b"secret");
        let answer = signed_answer(&k, b"request-mac", false);
        let r = Response::parse(&answer).unwrap();
        let t = 1_700_000_000;
        assert_eq!(k.verify(&r, b"request-mac", t), Ok(()));
        assert!(
            k.verify(&r, b"request-mac", t + 301).is_err(),
            "outside the fudge"
        );
        assert!(k.verify(&r, b"another-mac", t).is_err());
        assert!(key(b"wrong").verify(&r, b"request-mac", t).is_err());
        let tampered = signed_answer(&k, b"request-mac", true);
        assert!(
            k.verify(&Response::parse(&tampered).unwrap(), b"request-mac", t)
                .is_err()
        );
    }

    #[test]
    fn algorithms_parse_as_lego_spells_them() {
        assert_eq!(Algorithm::parse("hmac-sha256."), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("HMAC-SHA1"), Some(Algorithm::Sha1));
        assert_eq!(Algorithm::parse("hmac-md5.sig-alg.reg.int."), None);
    }
}
