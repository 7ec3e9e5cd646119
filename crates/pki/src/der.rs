//! A minimal DER writer and reader: just what certificates, CSRs and key containers need.
//!
//! We encode certificates ourselves instead of through rcgen because the issuer name must be the
//! CA's subject *byte for byte* (rcgen rebuilds names through a map that drops repeated
//! attributes such as two OUs and may change string types), and because OID SANs
//! (`registeredID`), which the Python library supports, have no rcgen representation.
//! The reader never panics: every length is checked against the input.

/// Universal tags used here.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
}

/// Encodes one TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// A SEQUENCE of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// A SET of already-encoded parts, sorted as DER requires for SET OF.
pub(crate) fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort();
    tlv(tag::SET, &sorted.concat())
}

/// A context-specific tag `[n]`, constructed (EXPLICIT) or primitive (IMPLICIT of a primitive).
pub(crate) fn context(n: u8, constructed: bool, content: &[u8]) -> Vec<u8> {
    let t = 0x80 | if constructed { 0x20 } else { 0 } | n;
    tlv(t, content)
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, a zero byte
/// added when the high bit is set so it stays positive).
pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        &magnitude[skip..]
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(tag::INTEGER, &content)
}

/// A small INTEGER.
pub(crate) fn small_int(n: u32) -> Vec<u8> {
    uint(&n.to_be_bytes())
}

/// A BOOLEAN.
pub(crate) fn boolean(b: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if b { 0xff } else { 0 }])
}

/// A BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

/// An OBJECT IDENTIFIER from its arcs. Callers pass constants from [`crate::oid`].
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    tlv(tag::OID, &oid_content(arcs))
}

/// The content octets of an OID (also used to compare with parsed OIDs).
pub(crate) fn oid_content(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    // Arcs come from constants or from `parse_dotted_oid`, which bounds the first pair; the
    // saturation only keeps a caller's mistake from being a panic.
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a.saturating_mul(40).saturating_add(*b), rest),
        [a] => (a.saturating_mul(40), &[][..]),
        [] => return content,
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    content
}

/// What [`parse_dotted_oid`] accepts, for error messages.
pub(crate) const OID_RULES: &str =
    "we can encode (decimal arcs below 2^63, the first 0, 1 or 2, the second below 40)";

/// The largest arc [`parse_dotted_oid`] accepts: nine 7-bit groups.
pub(crate) const MAX_OID_ARC: u64 = (1 << 63) - 1;

/// Parses a dotted OID string (`1.3.6.1.4.1.28978`) into arcs, accepting only what
/// [`oid_content`] encodes and what reads back as the same text: canonical decimal arcs (no
/// sign, no leading zero) below 2^63, at least two, a first arc of 0, 1 or 2 and a second arc
/// below 40 (X.660 requires it under 0 and 1).
///
/// The tighter bounds are our reader's: x509-parser 0.18 (asn1-rs 0.7) decodes the first two
/// arcs from the first *byte* as `byte / 40` and `byte % 40`, so `2.40` and up would read back
/// as another OID (`2.40` as `3.0`);
/// it prints an arc of 2^63 or more (ten 7-bit groups) as hex; and it reads `0.0` as `0`. The
/// SAN we issue would then not match the one asked for.
pub(crate) fn parse_dotted_oid(s: &str) -> Option<Vec<u64>> {
    let arcs = s
        .split('.')
        .map(|p| {
            let canonical = !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'));
            canonical
                .then(|| p.parse::<u64>().ok())
                .flatten()
                .filter(|arc| *arc <= MAX_OID_ARC)
        })
        .collect::<Option<Vec<u64>>>()?;
    let valid = match arcs.as_slice() {
        [0, 0] => false,
        [0..=2, second, ..] => *second < 40,
        _ => false,
    };
    valid.then_some(arcs)
}

/// An `AlgorithmIdentifier` with optional parameters.
pub(crate) fn algorithm(arcs: &[u64], params: Option<&[u8]>) -> Vec<u8> {
    let oid = oid(arcs);
    match params {
        Some(p) => seq(&[&oid, p]),
        None => seq(&[&oid]),
    }
}

/// Reads DER without trusting it: every accessor returns `None` on malformed input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// Reads the next TLV; returns its tag and content.
    pub(crate) fn next_tlv(&mut self) -> Option<(u8, &'a [u8])> {
        let (&t, rest) = self.input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let (content, rest) = rest.split_at(len);
        self.input = rest;
        Some((t, content))
    }

    /// Reads the next TLV, which must have `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next_tlv()? {
            (t, content) if t == tag => Some(content),
            _ => None,
        }
    }

    /// Peeks at the next tag.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_oids_like_openssl() {
        // 1.2.840.113549.1.1.11 sha256WithRSAEncryption
        assert_eq!(
            oid(&[1, 2, 840, 113549, 1, 1, 11]),
            [
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b
            ]
        );
    }

    #[test]
    fn encodes_long_lengths() {
        let big = tlv(tag::OCTET_STRING, &[0u8; 300]);
        assert_eq!(&big[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&big);
        assert_eq!(r.expect(tag::OCTET_STRING).map(<[u8]>::len), Some(300));
        assert!(r.is_empty());
    }

    #[test]
    fn integers_stay_positive() {
        assert_eq!(uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), [0x02, 0x01, 0x05]);
        assert_eq!(uint(&[]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn dotted_oids_are_validated() {
        assert_eq!(parse_dotted_oid("1.3.6.1"), Some(vec![1, 3, 6, 1]));
        assert_eq!(parse_dotted_oid("1"), None);
        assert_eq!(parse_dotted_oid("3.1"), None);
        assert_eq!(parse_dotted_oid("1.x"), None);
        assert_eq!(parse_dotted_oid("2.39.3"), Some(vec![2, 39, 3]));
        assert_eq!(
            parse_dotted_oid("1.3.9223372036854775807"),
            Some(vec![1, 3, MAX_OID_ARC])
        );
    }

    #[test]
    fn dotted_oids_the_writer_cannot_encode_are_refused() {
        // Regression: 2.18446744073709551615 overflowed `40 * 2 + arc` in the DER writer.
        for bad in [
            "2.18446744073709551615",
            "2.40",
            "2.48",
            "2.999.3",
            "0.0",
            "1.40",
            "0.40",
            "1.3.18446744073709551616",
            "1.3.9223372036854775808",
            "1.+3",
            "1.03",
            "1..3",
            "1.3.",
            "",
            " 1.3",
        ] {
            assert_eq!(parse_dotted_oid(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn dotted_oids_encode_and_read_back_as_given(
            first in 0u64..3,
            second in any::<u64>(),
            rest in proptest::collection::vec(0..=MAX_OID_ARC, 0..6),
        ) {
            let second = if first < 2 { second % 40 } else { second % 96 };
            let text = std::iter::once(first).chain([second]).chain(rest)
                .map(|a| a.to_string()).collect::<Vec<_>>().join(".");
            match parse_dotted_oid(&text) {
                // What we accept, x509-parser reads back as the same dotted text.
                Some(arcs) => {
                    let der = oid(&arcs);
                    let (_, parsed) = x509_parser::der_parser::der::parse_der_oid(&der)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let back = parsed.as_oid().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(back.to_id_string(), text);
                }
                // And we refuse only a first pair that our reader would misread.
                None => prop_assert!((first == 2 && second >= 40) || (first == 0 && second == 0)),
            }
        }

        #[test]
        fn dotted_oid_parser_never_panics(s in "[0-9.+-]{0,40}") {
            if let Some(arcs) = parse_dotted_oid(&s) {
                let _ = oid(&arcs);
            }
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            while r.next_tlv().is_some() {}
        }
    }
}
