//! An RFC 2136 client over TCP: finds the zone of a name (its SOA), follows CNAMEs as lego
//! does, and adds or deletes one TXT record in a TSIG-signed UPDATE.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::tsig::{Key, TsigError};
use super::wire::{
    CLASS_IN, CLASS_NONE, MessageWriter, Name, OPCODE_QUERY, OPCODE_UPDATE, Response, TYPE_CNAME,
    TYPE_SOA, TYPE_TXT, WireError, txt_rdata,
};

/// Why a DNS exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// No TCP connection, or it broke or timed out.
    #[error("name server {server}: {source}")]
    Io {
        /// The name server.
        server: SocketAddr,
        #[source]
        /// The I/O error.
        source: std::io::Error,
    },
    /// The answer is not a DNS message we can read.
    #[error("name server {server}: {source}")]
    Wire {
        /// The name server.
        server: SocketAddr,
        #[source]
        /// What is wrong with the answer.
        source: WireError,
    },
    /// The signature of the exchange.
    #[error("name server {server}: {source}")]
    Tsig {
        /// The name server.
        server: SocketAddr,
        #[source]
        /// What is wrong with the signature.
        source: TsigError,
    },
    /// The server answered with an error code.
    #[error("name server {server} answered {rcode} to {what}")]
    Rcode {
        /// The name server.
        server: SocketAddr,
        /// The RCODE, named.
        rcode: &'static str,
        /// What was asked.
        what: String,
    },
    /// No SOA found above the name.
    #[error("name server {server} knows no zone (SOA) above {name}")]
    NoZone {
        /// The name server.
        server: SocketAddr,
        /// The name whose zone was looked for.
        name: Name,
    },
    /// CNAMEs that loop or chain too deep.
    #[error("CNAMEs from {0} chain more than 8 deep")]
    CnameLoop(Name),
}

/// The RCODE names of RFC 1035 and RFC 2136.
fn rcode_name(code: u8) -> &'static str {
    match code {
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH (the key is not allowed to update this zone)",
        10 => "NOTZONE",
        _ => "an unknown RCODE",
    }
}

/// One name server we update.
#[derive(Debug)]
pub struct Updater {
    server: SocketAddr,
    key: Key,
    timeout: Duration,
    ttl: u32,
}

impl Updater {
    /// An updater for `server`, signing with `key`; records get `ttl`.
    pub fn new(server: SocketAddr, key: Key, timeout: Duration, ttl: u32) -> Self {
        Self {
            server,
            key,
            timeout,
            ttl,
        }
    }

    /// The zone `name` belongs to: the owner of the SOA the server gives for it (in the answer
    /// at an apex, in the authority section below one).
    pub fn zone_of(&self, name: &Name) -> Result<Name, DnsError> {
        let bytes = self.exchange_checked(&query(name, TYPE_SOA))?;
        let r = self.parse(&bytes)?;
        r.answers
            .iter()
            .chain(&r.authority)
            .find(|rec| rec.rtype == TYPE_SOA && name.is_within(&rec.name))
            .map(|rec| rec.name.clone())
            .ok_or_else(|| DnsError::NoZone {
                server: self.server,
                name: name.clone(),
            })
    }

    /// Where TXT records for `name` really go: the end of its CNAME chain (lego follows it
    /// unless `disable-cname-support`).
    pub fn follow_cnames(&self, name: &Name) -> Result<Name, DnsError> {
        let mut current = name.clone();
        for _ in 0..8 {
            let bytes = self.exchange_checked(&query(&current, TYPE_CNAME))?;
            let r = self.parse(&bytes)?;
            let Some(cname) = r
                .answers
                .iter()
                .find(|rec| rec.rtype == TYPE_CNAME && rec.name == current)
            else {
                return Ok(current);
            };
            current = r.rdata_name(cname).map_err(|source| DnsError::Wire {
                server: self.server,
                source,
            })?;
        }
        Err(DnsError::CnameLoop(name.clone()))
    }

    /// Whether the server serves the TXT record `name` = `value` (the propagation check).
    pub fn has_txt(&self, name: &Name, value: &str) -> Result<bool, DnsError> {
        let bytes = self.exchange_checked(&query(name, TYPE_TXT))?;
        let r = self.parse(&bytes)?;
        Ok(r.answers
            .iter()
            .filter(|rec| rec.rtype == TYPE_TXT && &rec.name == name)
            .any(|rec| txt_value(r.rdata(rec)).as_deref() == Some(value.as_bytes())))
    }

    /// Adds the TXT record `name` = `value` in `zone`.
    pub fn add_txt(&self, zone: &Name, name: &Name, value: &str) -> Result<(), DnsError> {
        self.update(
            zone,
            name,
            value,
            CLASS_IN,
            self.ttl,
            "the TXT record's addition",
        )
    }

    /// Deletes exactly the TXT record `name` = `value` (others at `name` stay).
    pub fn remove_txt(&self, zone: &Name, name: &Name, value: &str) -> Result<(), DnsError> {
        self.update(zone, name, value, CLASS_NONE, 0, "the TXT record's removal")
    }

    fn update(
        &self,
        zone: &Name,
        name: &Name,
        value: &str,
        class: u16,
        ttl: u32,
        what: &str,
    ) -> Result<(), DnsError> {
        let mut w = MessageWriter::new(random_id(), OPCODE_UPDATE, [1, 0, 1, 0]);
        w.question(zone, TYPE_SOA, CLASS_IN);
        w.record(name, TYPE_TXT, class, ttl, &txt_rdata(value));
        let now = real_unix_time();
        let mac = self.key.sign(&mut w, now);
        let bytes = self.exchange_checked(&w.bytes)?;
        let r = self.parse(&bytes)?;
        // An unsigned refusal says more than a missing signature: check the code first when
        // the server could not sign (it never does for a bad key).
        if r.rcode != 0 && r.additional.is_empty() {
            return Err(DnsError::Rcode {
                server: self.server,
                rcode: rcode_name(r.rcode),
                what: format!("{what} ({name} in zone {zone})"),
            });
        }
        self.key
            .verify(&r, &mac, now)
            .map_err(|source| DnsError::Tsig {
                server: self.server,
                source,
            })?;
        if r.rcode != 0 {
            return Err(DnsError::Rcode {
                server: self.server,
                rcode: rcode_name(r.rcode),
                what: format!("{what} ({name} in zone {zone})"),
            });
        }
        Ok(())
    }

    fn parse<'a>(&self, bytes: &'a [u8]) -> Result<Response<'a>, DnsError> {
        Response::parse(bytes).map_err(|source| DnsError::Wire {
            server: self.server,
            source,
        })
    }

    /// One exchange whose answer must carry our id, be a response, and have our opcode.
    fn exchange_checked(&self, message: &[u8]) -> Result<Vec<u8>, DnsError> {
        let answer = self.exchange(message)?;
        let ok = answer.len() >= 4
            && answer[0..2] == message[0..2]
            && answer[2] & 0x80 != 0
            && (answer[2] & 0x78) == (message[2] & 0x78);
        if !ok {
            return Err(DnsError::Wire {
                server: self.server,
                source: WireError::Mismatch,
            });
        }
        Ok(answer)
    }

    /// One request and its answer over TCP (two-byte length prefix, RFC 1035 §4.2.2); callers
    /// use [`Self::exchange_checked`].
    fn exchange(&self, message: &[u8]) -> Result<Vec<u8>, DnsError> {
        let io = |source| DnsError::Io {
            server: self.server,
            source,
        };
        let mut s = TcpStream::connect_timeout(&self.server, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        s.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let mut framed = (message.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(message);
        s.write_all(&framed).map_err(io)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).map_err(io)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut answer).map_err(io)?;
        Ok(answer)
    }
}

/// The real time (Unix seconds), even where the process clock is shifted (the local model runs
/// charms at a virtual time through libfaketime): TSIG is checked against the name server's
/// real clock within 300 s. The kernel's boot time plus uptime, read from `/proc`, is not
/// shifted; the system clock where `/proc` does not say.
pub fn real_unix_time() -> u64 {
    let from_proc = || -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let btime: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let up: f64 = uptime.split_whitespace().next()?.parse().ok()?;
        Some(btime + up as u64)
    };
    from_proc().unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// A TXT record's character-strings, joined (RFC 1035 §3.3.14; one value split at 255 bytes).
fn txt_value(rdata: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(rdata.len());
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let chunk = tail.get(..usize::from(len))?;
        out.extend_from_slice(chunk);
        rest = &tail[usize::from(len)..];
    }
    Some(out)
}

fn query(name: &Name, rtype: u16) -> Vec<u8> {
    let mut w = MessageWriter::new(random_id(), OPCODE_QUERY, [1, 0, 0, 0]);
    // Recursion desired: a resolver between us and the zone answers too.
    w.bytes[2] |= 0x01;
    w.question(name, rtype, CLASS_IN);
    w.bytes
}

fn random_id() -> u16 {
    let mut b = [0u8; 2];
    // An unpredictable id costs nothing; over TCP it matters little, so a failure is not fatal.
    let _ = aws_lc_rs::rand::fill(&mut b);
    u16::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_values_join_their_strings_and_reject_overruns() {
        assert_eq!(txt_value(&[2, b'a', b'b', 1, b'c']).unwrap(), b"abc");
        assert_eq!(txt_value(&[]).unwrap(), b"");
        assert_eq!(txt_value(&[5, b'a']), None);
    }

    #[test]
    fn the_real_time_is_the_system_s_within_a_second_or_two() {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let real = real_unix_time();
        assert!(real.abs_diff(system) <= 2, "{real} vs {system}");
    }
}
