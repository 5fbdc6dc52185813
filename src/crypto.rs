//! AES-256-GCM sealing and opening: the only module that touches `aes-gcm` and the RNG.
//!
//! Every [`seal`] draws a fresh key and a fresh nonce from the operating system's CSPRNG, so a
//! (key, nonce) pair is never reused and no state has to be kept between calls.

use core::fmt;

use aes_gcm::aead::{AeadInOut, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce, Tag as GcmTag};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Key length in bytes: AES-256, the largest AES key size.
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes. 96 bits is NIST SP 800-38D's recommended IV length: it is used as the
/// counter block directly, with no GHASH step, and is what every other GCM library expects.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes: the full 128-bit GCM tag; shorter tags weaken forgery resistance.
pub const TAG_LEN: usize = 16;

/// A 256-bit AES key. Zeroized when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// A fresh key from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails, which only happens on a broken
    /// system; encrypting with a predictable key would be worse than stopping.
    #[must_use]
    pub fn generate() -> Self {
        let key = aes_gcm::Key::<Aes256Gcm>::generate();
        Self(key.into())
    }

    /// The raw key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl From<[u8; KEY_LEN]> for Key {
    fn from(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key { .. }")
    }
}

/// A 96-bit GCM nonce. Not secret, but kept out of `Debug` output and logs all the same.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh nonce from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails (see [`Key::generate`]).
    #[must_use]
    pub fn generate() -> Self {
        let nonce = GcmNonce::<<Aes256Gcm as aes_gcm::AeadCore>::NonceSize>::generate();
        Self(nonce.into())
    }

    /// The raw nonce bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl From<[u8; NONCE_LEN]> for Nonce {
    fn from(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce { .. }")
    }
}

/// A 128-bit GCM authentication tag, kept apart from the ciphertext as the wire contract wants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tag([u8; TAG_LEN]);

impl Tag {
    /// The raw tag bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }
}

impl From<[u8; TAG_LEN]> for Tag {
    fn from(bytes: [u8; TAG_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag { .. }")
    }
}

/// Everything needed to decrypt one message: key, nonce, ciphertext and tag.
///
/// `Debug` shows only the ciphertext length. The key is zeroized when this is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The AES-256 key this message was sealed with.
    pub key: Key,
    /// The nonce this message was sealed with.
    pub nonce: Nonce,
    /// The ciphertext, exactly as long as the plaintext.
    pub ciphertext: Vec<u8>,
    /// The authentication tag.
    pub tag: Tag,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key", &self.key)
            .field("nonce", &self.nonce)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("tag", &self.tag)
            .finish()
    }
}

/// Opening failed: the key, nonce, ciphertext or tag is not the one that was sealed.
///
/// Deliberately opaque: which of them was wrong is not knowable, and saying more would help an
/// attacker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed: the key, nonce, tag or ciphertext is not authentic")]
pub struct DecryptionFailed;

/// Encrypts `plaintext` under a fresh random key and nonce.
///
/// # Panics
///
/// If the operating system's random number generator fails (see [`Key::generate`]), or if the
/// plaintext is longer than GCM allows for one message (about 64 GiB).
#[must_use]
pub fn seal(plaintext: &[u8]) -> Sealed {
    seal_detached(Key::generate(), Nonce::generate(), &[], plaintext)
}

/// Encrypts `plaintext` under the given key and nonce, authenticating `aad` too. Test vectors
/// need a chosen key and nonce; callers use [`seal`], which never lets one be reused.
pub(crate) fn seal_detached(key: Key, nonce: Nonce, aad: &[u8], plaintext: &[u8]) -> Sealed {
    let cipher = Aes256Gcm::new(&key.0.into());
    let mut ciphertext = plaintext.to_vec();
    let tag: GcmTag = cipher
        .encrypt_inout_detached(&nonce.0.into(), aad, ciphertext.as_mut_slice().into())
        // The only error is a message over GCM's 2^36 - 32 byte limit; the server's body limit
        // is far below it, and a library caller with 64 GiB in one slice has a bug.
        .unwrap_or_else(|_| panic!("plaintext exceeds the AES-GCM message size limit"));
    Sealed {
        key,
        nonce,
        ciphertext,
        tag: Tag(tag.into()),
    }
}

/// Decrypts and authenticates a sealed message.
///
/// # Errors
///
/// [`DecryptionFailed`] if anything about the message is not authentic; nothing is returned then.
pub fn open(sealed: &Sealed) -> Result<Vec<u8>, DecryptionFailed> {
    open_detached(sealed, &[])
}

/// Decrypts a sealed message whose associated data was `aad`.
pub(crate) fn open_detached(sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, DecryptionFailed> {
    let cipher = Aes256Gcm::new(&sealed.key.0.into());
    let mut plaintext = sealed.ciphertext.clone();
    match cipher.decrypt_inout_detached(
        &sealed.nonce.0.into(),
        aad,
        plaintext.as_mut_slice().into(),
        &sealed.tag.0.into(),
    ) {
        Ok(()) => Ok(plaintext),
        Err(_) => {
            // The buffer holds unauthenticated keystream-XORed bytes: wipe it before freeing.
            plaintext.zeroize();
            Err(DecryptionFailed)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
mod tests {
    use super::*;

    fn round_trip(plaintext: &[u8]) {
        let sealed = seal(plaintext);
        assert_eq!(sealed.ciphertext.len(), plaintext.len());
        assert_eq!(open(&sealed).unwrap(), plaintext);
    }

    #[test]
    fn round_trips_empty_input() {
        round_trip(b"");
    }

    #[test]
    fn round_trips_short_input() {
        round_trip(b"hi");
    }

    #[test]
    fn round_trips_long_input() {
        let long: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        round_trip(&long);
    }

    #[test]
    fn round_trips_non_utf8_input() {
        round_trip(&[0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    }

    #[test]
    fn ciphertext_differs_from_plaintext() {
        let sealed = seal(b"attack at dawn, attack at dawn");
        assert_ne!(sealed.ciphertext, b"attack at dawn, attack at dawn");
    }

    #[test]
    fn every_seal_uses_a_fresh_key_and_nonce() {
        let a = seal(b"same");
        let b = seal(b"same");
        assert_ne!(a.key, b.key);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn open_rejects_a_tampered_ciphertext() {
        let mut sealed = seal(b"hello world");
        sealed.ciphertext[3] ^= 0x01;
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_tampered_tag() {
        let mut sealed = seal(b"hello world");
        sealed.tag.0[15] ^= 0x80;
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_tampered_nonce() {
        let mut sealed = seal(b"hello world");
        sealed.nonce.0[0] ^= 0x01;
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_different_key() {
        let mut sealed = seal(b"hello world");
        sealed.key = Key::generate();
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_truncated_ciphertext() {
        let mut sealed = seal(b"hello world");
        sealed.ciphertext.pop();
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn debug_never_shows_key_nonce_or_tag_bytes() {
        let sealed = seal(b"secret clear text");
        let shown = format!("{sealed:?} {:?}", sealed.key);
        assert_eq!(
            shown,
            "Sealed { key: Key { .. }, nonce: Nonce { .. }, ciphertext_len: 17, tag: Tag { .. } } Key { .. }"
        );
    }

    #[test]
    fn key_is_zeroized_in_place() {
        let mut key = Key::generate();
        assert_ne!(key.0, [0; KEY_LEN]);
        key.zeroize();
        assert_eq!(key.0, [0; KEY_LEN]);
    }

    /// Project Wycheproof's AES-GCM vectors for AES-256 with 96-bit IVs and 128-bit tags: valid
    /// vectors must reproduce ciphertext and tag exactly, invalid ones must be refused.
    #[test]
    fn wycheproof_aes256_gcm_96_bit_iv_vectors() {
        use wycheproof::TestResult;
        use wycheproof::aead::{TestName, TestSet};

        let set = TestSet::load(TestName::AesGcm).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in set.test_groups {
            if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
                continue;
            }
            for test in group.tests {
                let key = Key(test.key.as_slice().try_into().unwrap());
                let nonce = Nonce(test.nonce.as_slice().try_into().unwrap());
                let tag = Tag(test.tag.as_slice().try_into().unwrap());
                let description = format!("tcId {} ({})", test.tc_id, test.comment);
                match test.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        let sealed = seal_detached(key.clone(), nonce, &test.aad, &test.pt);
                        assert_eq!(sealed.ciphertext, *test.ct, "{description}");
                        assert_eq!(sealed.tag, tag, "{description}");
                        let opened = open_detached(&sealed, &test.aad).unwrap();
                        assert_eq!(opened, *test.pt, "{description}");
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        let sealed = Sealed {
                            key,
                            nonce,
                            ciphertext: test.ct.to_vec(),
                            tag,
                        };
                        let opened = open_detached(&sealed, &test.aad);
                        assert_eq!(opened, Err(DecryptionFailed), "{description}");
                        invalid += 1;
                    }
                }
            }
        }
        assert!(valid > 10, "only {valid} valid vectors ran");
        assert!(invalid > 5, "only {invalid} invalid vectors ran");
    }
}
