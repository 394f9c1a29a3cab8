//! Content digests: the [`Sha256`] that names every stored file, and the
//! one streaming loop that computes it ([`Digester`]), with the size cap
//! and the first bytes kept for sniffing.

use std::fmt;
use std::io;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;

use crate::sniff::SNIFF_LEN;

/// A sha256: a stored file's name and identity, written as 64 lowercase
/// hex digits. A manifest naming anything else is refused when read, so a
/// digest can always be used in a path. Held as its 32 bytes: no
/// allocation for each of the entries and outcomes of a 20,000-resource
/// post (the bytes order as the hex digits do).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// Parses 64 hex digits (either case); `None` otherwise.
    pub fn parse(hex: &str) -> Option<Sha256> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).ok()?;
        Some(Sha256(bytes))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// The 64 hex digits, without allocating.
    fn hex(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        // Cannot fail: the buffer is exactly twice the digest's length.
        let _ = hex::encode_to_slice(self.0, &mut out);
        out
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl PartialEq<str> for Sha256 {
    fn eq(&self, other: &str) -> bool {
        self.hex() == other.as_bytes()
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Sha256::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a sha256 (64 hex digits)"))
        })
    }
}

/// More bytes than the cap allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverCap {
    pub max: u64,
}

/// What a finished digest says of the bytes that went through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    pub sha256: Sha256,
    pub bytes: u64,
    /// The first [`SNIFF_LEN`] bytes, for sniffing.
    pub head: Vec<u8>,
}

/// sha256, byte count, size cap and the first bytes, fed chunk by chunk.
#[derive(Debug, Clone)]
pub struct Digester {
    hasher: sha2::Sha256,
    bytes: u64,
    max: u64,
    head: Vec<u8>,
}

impl Digester {
    /// A digest that refuses more than `max` bytes.
    pub fn new(max: u64) -> Digester {
        Digester {
            hasher: sha2::Sha256::new(),
            bytes: 0,
            max,
            head: Vec::with_capacity(SNIFF_LEN),
        }
    }

    /// Adds a chunk; over the cap, nothing more should be kept.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), OverCap> {
        self.bytes = self.bytes.saturating_add(chunk.len() as u64);
        if self.bytes > self.max {
            return Err(OverCap { max: self.max });
        }
        self.hasher.update(chunk);
        if self.head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        Ok(())
    }

    pub fn finish(self) -> Digested {
        Digested {
            sha256: Sha256(self.hasher.finalize().into()),
            bytes: self.bytes,
            head: self.head,
        }
    }
}

/// Streams a reader through sha256 (no cap).
pub fn hash_reader(mut reader: impl io::Read) -> io::Result<Sha256> {
    let mut digest = Digester::new(u64::MAX);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(digest.finish().sha256);
        }
        // A u64::MAX cap is never passed.
        let _ = digest.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: &str = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";

    #[test]
    fn digests_in_chunks_equal_the_whole() {
        let mut d = Digester::new(10);
        d.update(b"").expect("empty");
        d.update(b"x").expect("under the cap");
        let done = d.finish();
        assert_eq!(done.sha256, Sha256::of(b"x"));
        assert_eq!(done.sha256.to_string(), X);
        assert_eq!((done.bytes, done.head.as_slice()), (1, &b"x"[..]));
        assert_eq!(
            hash_reader(&b"x"[..]).expect("reads"),
            Sha256::parse(X).expect("hex")
        );
    }

    #[test]
    fn the_cap_is_exact() {
        let mut d = Digester::new(3);
        assert_eq!(d.update(b"abc"), Ok(()));
        assert_eq!(d.update(b"d"), Err(OverCap { max: 3 }));
    }

    #[test]
    fn only_hex_of_the_right_length_is_a_sha256() {
        assert!(Sha256::parse(X).is_some());
        assert_eq!(
            Sha256::parse(&X.to_uppercase()).map(|s| s.to_string()),
            Some(X.to_string())
        );
        assert!(Sha256::parse(&X[1..]).is_none());
        assert!(Sha256::parse(&format!("../{}", &X[3..])).is_none());
        let bad: Result<Sha256, _> = serde_json::from_str("\"nope\"");
        assert!(bad.is_err());
    }

    #[test]
    fn a_sha256_is_written_and_compared_as_its_lowercase_hex() {
        let sha = Sha256::parse(&X.to_uppercase()).unwrap();
        assert_eq!(serde_json::to_string(&sha).unwrap(), format!("\"{X}\""));
        assert!(sha == *X);
        assert!(sha != *X.to_uppercase());
        assert_eq!(format!("{sha:?}"), format!("Sha256({X})"));
    }
}
