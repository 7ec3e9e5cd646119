//! The DNS message format (RFC 1035 §4) as far as an RFC 2136 client needs it: names, a header,
//! questions and resource records to write; records of a response to read (with compression).

use std::fmt;

/// Record types used here.
pub(crate) const TYPE_CNAME: u16 = 5;
pub(crate) const TYPE_SOA: u16 = 6;
pub(crate) const TYPE_TXT: u16 = 16;
pub(crate) const TYPE_TSIG: u16 = 250;
/// Classes: IN, NONE (delete an RR, RFC 2136 §2.5.4), ANY (TSIG).
pub(crate) const CLASS_IN: u16 = 1;
pub(crate) const CLASS_NONE: u16 = 254;
pub(crate) const CLASS_ANY: u16 = 255;
/// Opcodes (header bits 11-14).
pub(crate) const OPCODE_QUERY: u16 = 0;
pub(crate) const OPCODE_UPDATE: u16 = 5;

/// Why bytes are not a DNS message we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message ends inside a field.
    #[error("the DNS message is truncated")]
    Truncated,
    /// A compression pointer loops or points forward.
    #[error("the DNS message has a bad name compression pointer")]
    BadPointer,
    /// The answer is not the response to our question (id, QR bit or opcode).
    #[error("the DNS answer does not match the request (id, response bit or opcode)")]
    Mismatch,
    /// A name or label too long to be a DNS name.
    #[error("bad DNS name {0:?}: {1}")]
    BadName(String, &'static str),
}

/// A fully-qualified domain name, lowercase, without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// `text` as a name (a trailing dot is optional; case is folded, as DNS compares names).
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let t = text.trim_end_matches('.').to_ascii_lowercase();
        if t.len() > 253 {
            return Err(WireError::BadName(text.to_owned(), "longer than 253 bytes"));
        }
        if !t.is_empty() && t.split('.').any(|l| l.is_empty() || l.len() > 63) {
            return Err(WireError::BadName(
                text.to_owned(),
                "empty label or label over 63 bytes",
            ));
        }
        Ok(Self(t))
    }

    /// The root name.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// The name one label up (`None` for the root).
    pub fn parent(&self) -> Option<Self> {
        if self.0.is_empty() {
            return None;
        }
        Some(Self(
            self.0
                .split_once('.')
                .map(|(_, p)| p)
                .unwrap_or("")
                .to_owned(),
        ))
    }

    /// `label.self`.
    pub fn child(&self, label: &str) -> Result<Self, WireError> {
        if self.0.is_empty() {
            Self::parse(label)
        } else {
            Self::parse(&format!("{label}.{}", self.0))
        }
    }

    /// Whether `self` is `zone` or below it.
    pub fn is_within(&self, zone: &Name) -> bool {
        zone.0.is_empty() || self.0 == zone.0 || self.0.ends_with(&format!(".{}", zone.0))
    }

    /// Uncompressed wire form (also the canonical form TSIG signs).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        if !self.0.is_empty() {
            for label in self.0.split('.') {
                out.push(label.len() as u8);
                out.extend_from_slice(label.as_bytes());
            }
        }
        out.push(0);
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.", self.0)
    }
}

/// A message being written: header, then sections in order.
#[derive(Debug)]
pub(crate) struct MessageWriter {
    pub(crate) bytes: Vec<u8>,
}

impl MessageWriter {
    /// A header with `id`, `opcode`, recursion not desired, and the section counts.
    pub(crate) fn new(id: u16, opcode: u16, counts: [u16; 4]) -> Self {
        let mut bytes = Vec::with_capacity(512);
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes.extend_from_slice(&(opcode << 11).to_be_bytes());
        for c in counts {
            bytes.extend_from_slice(&c.to_be_bytes());
        }
        Self { bytes }
    }

    /// A question (or an RFC 2136 zone entry).
    pub(crate) fn question(&mut self, name: &Name, rtype: u16, class: u16) {
        name.write(&mut self.bytes);
        self.bytes.extend_from_slice(&rtype.to_be_bytes());
        self.bytes.extend_from_slice(&class.to_be_bytes());
    }

    /// A resource record.
    pub(crate) fn record(&mut self, name: &Name, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) {
        self.question(name, rtype, class);
        self.bytes.extend_from_slice(&ttl.to_be_bytes());
        self.bytes
            .extend_from_slice(&(rdata.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        self.bytes.extend_from_slice(rdata);
    }

    /// Bumps the additional count (after a TSIG record is appended).
    pub(crate) fn bump_additional(&mut self) {
        let n = u16::from_be_bytes([self.bytes[10], self.bytes[11]]).saturating_add(1);
        self.bytes[10..12].copy_from_slice(&n.to_be_bytes());
    }
}

/// TXT rdata: the value in character-strings of at most 255 bytes.
pub(crate) fn txt_rdata(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    for chunk in value.as_bytes().chunks(255) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    if value.is_empty() {
        out.push(0);
    }
    out
}

/// A record read from a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) name: Name,
    pub(crate) rtype: u16,
    pub(crate) class: u16,
    /// Offset of the record's first byte in the message (TSIG verification cuts there).
    pub(crate) start: usize,
    /// Offset and length of the rdata.
    pub(crate) rdata_at: usize,
    pub(crate) rdata_len: usize,
}

/// A response, parsed.
#[derive(Debug)]
pub(crate) struct Response<'a> {
    pub(crate) bytes: &'a [u8],
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) id: u16,
    pub(crate) rcode: u8,
    pub(crate) answers: Vec<Record>,
    pub(crate) authority: Vec<Record>,
    pub(crate) additional: Vec<Record>,
}

impl<'a> Response<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader { bytes, at: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        for _ in 0..counts[0] {
            r.name()?;
            r.skip(4)?;
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..count {
                section.push(r.record()?);
            }
        }
        let [answers, authority, additional] = sections;
        Ok(Self {
            bytes,
            id,
            rcode: (flags & 0x000f) as u8,
            answers,
            authority,
            additional,
        })
    }

    /// The rdata of `record`.
    pub(crate) fn rdata(&self, record: &Record) -> &'a [u8] {
        &self.bytes[record.rdata_at..record.rdata_at + record.rdata_len]
    }

    /// A name inside `record`'s rdata at `offset` (CNAME target, SOA mname), decompressed.
    pub(crate) fn rdata_name(&self, record: &Record) -> Result<Name, WireError> {
        Reader {
            bytes: self.bytes,
            at: record.rdata_at,
        }
        .name()
    }

    /// A reader positioned at `record`'s rdata.
    pub(crate) fn rdata_reader(&self, record: &Record) -> Reader<'a> {
        Reader {
            bytes: &self.bytes[..record.rdata_at + record.rdata_len],
            at: record.rdata_at,
        }
    }
}

/// A cursor over a message.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pub(crate) at: usize,
}

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8], WireError> {
        let end = self.at.checked_add(n).ok_or(WireError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(WireError::Truncated)?;
        self.at = end;
        Ok(s)
    }

    fn skip(&mut self, n: usize) -> Result<(), WireError> {
        self.take(n).map(|_| ())
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u48(&mut self) -> Result<u64, WireError> {
        let b = self.take(6)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A possibly compressed name; pointers must point backwards (no loops).
    pub(crate) fn name(&mut self) -> Result<Name, WireError> {
        let mut labels: Vec<String> = Vec::new();
        let mut at = self.at;
        let mut resume = None;
        let mut limit = at;
        loop {
            let len = *self.bytes.get(at).ok_or(WireError::Truncated)?;
            match len {
                0 => {
                    at += 1;
                    break;
                }
                l if l & 0xc0 == 0xc0 => {
                    let lo = *self.bytes.get(at + 1).ok_or(WireError::Truncated)?;
                    let target = (usize::from(l & 0x3f) << 8) | usize::from(lo);
                    if target >= limit {
                        return Err(WireError::BadPointer);
                    }
                    resume.get_or_insert(at + 2);
                    limit = target;
                    at = target;
                }
                l if l & 0xc0 == 0 => {
                    let end = at + 1 + usize::from(l);
                    let label = self.bytes.get(at + 1..end).ok_or(WireError::Truncated)?;
                    labels.push(String::from_utf8_lossy(label).into_owned());
                    at = end;
                }
                _ => return Err(WireError::BadPointer),
            }
        }
        self.at = resume.unwrap_or(at);
        Name::parse(&labels.join("."))
    }

    fn record(&mut self) -> Result<Record, WireError> {
        let start = self.at;
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        self.u32()?;
        let rdata_len = usize::from(self.u16()?);
        let rdata_at = self.at;
        self.skip(rdata_len)?;
        Ok(Record {
            name,
            rtype,
            class,
            start,
            rdata_at,
            rdata_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_and_walk_up() {
        let n = Name::parse("_acme-challenge.WWW.Example.com.").unwrap();
        assert_eq!(n.to_string(), "_acme-challenge.www.example.com.");
        assert_eq!(n.parent().unwrap().to_string(), "www.example.com.");
        assert!(n.is_within(&Name::parse("example.com").unwrap()));
        assert!(!n.is_within(&Name::parse("ample.com").unwrap()));
        assert_eq!(Name::root().parent(), None);
        assert!(Name::parse(&"a".repeat(64)).is_err());
        assert!(Name::parse("a..b").is_err());
    }

    #[test]
    fn a_compressed_response_reads_back() {
        // Header (1 answer), question example.com SOA, answer with a pointer to the question name.
        let mut w = MessageWriter::new(7, OPCODE_QUERY, [1, 1, 0, 0]);
        w.question(&Name::parse("example.com").unwrap(), TYPE_SOA, CLASS_IN);
        w.bytes.extend_from_slice(&[0xc0, 12]);
        w.bytes
            .extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, b'x', 0xc0, 12]);
        let r = Response::parse(&w.bytes).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].name.to_string(), "example.com.");
        assert_eq!(r.answers[0].rtype, TYPE_CNAME);
        assert_eq!(
            r.rdata_name(&r.answers[0]).unwrap().to_string(),
            "x.example.com."
        );
    }

    #[test]
    fn pointer_loops_and_truncation_are_errors() {
        let mut w = MessageWriter::new(1, OPCODE_QUERY, [0, 1, 0, 0]);
        w.bytes.extend_from_slice(&[0xc0, 12]);
        assert_eq!(
            Response::parse(&w.bytes).unwrap_err(),
            WireError::BadPointer
        );
        assert_eq!(
            Response::parse(&[0, 1, 0]).unwrap_err(),
            WireError::Truncated
        );
    }

    #[test]
    fn txt_values_split_at_255_bytes() {
        let long = "a".repeat(300);
        let rdata = txt_rdata(&long);
        assert_eq!(rdata[0], 255);
        assert_eq!(rdata[256], 45);
        assert_eq!(rdata.len(), 302);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = Response::parse(&bytes);
        }
    }
}
