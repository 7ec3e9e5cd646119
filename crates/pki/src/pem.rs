//! PEM armour (RFC 7468): reading every block of a text, and writing one.
//!
//! The parser is strict about structure (matching `BEGIN`/`END` labels, valid base64) and lenient
//! about whitespace (CRLF, indentation, trailing blanks), because PEM travels through relation
//! databags, YAML and shells that reformat it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...) and the DER bytes it wraps.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// The label between `-----BEGIN ` and `-----`.
    pub label: String,
    /// The decoded contents.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Blocks may hold private keys: show their shape, never their bytes.
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("len", &self.der.len())
            .finish()
    }
}

/// Why a text is not valid PEM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// No `-----BEGIN ...-----` line was found.
    #[error("no PEM block found")]
    NoBlock,
    /// A block was opened and never closed.
    #[error("PEM block '{label}' has no END line")]
    Unterminated {
        /// The label of the open block.
        label: String,
    },
    /// The END label differs from the BEGIN label.
    #[error("PEM block opened as '{begin}' but closed as '{end}'")]
    LabelMismatch {
        /// Label of the BEGIN line.
        begin: String,
        /// Label of the END line.
        end: String,
    },
    /// The body is not valid base64.
    #[error("PEM block '{label}' has an invalid base64 body")]
    BadBase64 {
        /// The label of the block.
        label: String,
    },
    /// A block has the wrong label for what the caller expected.
    #[error("expected a PEM block labelled {expected}, found '{found}'")]
    UnexpectedLabel {
        /// What the caller accepts.
        expected: String,
        /// What was there.
        found: String,
    },
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Parses every PEM block of `text`, in order. Text outside blocks (comments, `openssl` output
/// headers) is ignored; a malformed block is an error, never skipped.
pub fn parse_all(text: &str) -> Result<Vec<Block>, PemError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = armour_label(line, BEGIN) else {
            continue;
        };
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if let Some(end) = armour_label(line, END) {
                if end != label {
                    return Err(PemError::LabelMismatch {
                        begin: label.to_owned(),
                        end: end.to_owned(),
                    });
                }
                closed = true;
                break;
            }
            // RFC 7468 allows (legacy) headers such as `Proc-Type:`; they carry no key material
            // we can use (encrypted PEM is refused later by the key parser).
            if line.contains(':') {
                continue;
            }
            body.push_str(line);
        }
        if !closed {
            return Err(PemError::Unterminated {
                label: label.to_owned(),
            });
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| PemError::BadBase64 {
                label: label.to_owned(),
            })?;
        blocks.push(Block {
            label: label.to_owned(),
            der,
        });
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock);
    }
    Ok(blocks)
}

/// Parses the first PEM block of `text` whose label is one of `labels`.
pub fn parse_one(text: &str, labels: &[&str]) -> Result<Block, PemError> {
    let blocks = parse_all(text)?;
    let found = blocks[0].label.clone();
    blocks
        .into_iter()
        .find(|b| labels.contains(&b.label.as_str()))
        .ok_or_else(|| PemError::UnexpectedLabel {
            expected: labels.join(" or "),
            found,
        })
}

/// Encodes `der` as one PEM block with 64-column lines and a trailing newline.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    out
}

fn armour_label<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix(DASHES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_tolerates_crlf_and_indentation() {
        let pem = encode("CERTIFICATE", &[1, 2, 3, 250]);
        let messy = pem.replace('\n', "\r\n    ");
        let blocks = parse_all(&format!("junk\n{messy}trailer")).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].der, vec![1, 2, 3, 250]);
    }

    #[test]
    fn reads_several_blocks_in_order() {
        let text = encode("A", b"one") + &encode("B", b"two");
        let labels: Vec<_> = parse_all(&text)
            .unwrap()
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["A", "B"]);
    }

    #[test]
    fn rejects_mismatched_labels_and_unterminated_blocks() {
        let bad = "-----BEGIN A-----\nAAAA\n-----END B-----\n";
        assert!(matches!(
            parse_all(bad),
            Err(PemError::LabelMismatch { .. })
        ));
        let open = "-----BEGIN A-----\nAAAA\n";
        assert!(matches!(
            parse_all(open),
            Err(PemError::Unterminated { .. })
        ));
        assert_eq!(parse_all("nothing here"), Err(PemError::NoBlock));
    }

    #[test]
    fn rejects_bad_base64() {
        let bad = "-----BEGIN A-----\n!!!!\n-----END A-----\n";
        assert!(matches!(parse_all(bad), Err(PemError::BadBase64 { .. })));
    }

    #[test]
    fn debug_never_shows_the_bytes() {
        let block = Block {
            label: "PRIVATE KEY".into(),
            der: vec![0x42; 8],
        };
        assert!(!format!("{block:?}").contains("66"));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = parse_all(&text);
        }

        #[test]
        fn mangled_pem_never_panics(der in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..400, junk in ".{0,5}") {
            let mut pem = encode("CERTIFICATE", &der);
            let cut = cut.min(pem.len());
            if pem.is_char_boundary(cut) { pem.insert_str(cut, &junk); }
            let _ = parse_all(&pem);
        }
    }
}
