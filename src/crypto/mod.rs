//! AES-GCM sealing and opening: the only module that touches `aes-gcm` and the RNG. It knows
//! nothing of JSON or base64; how sizes and keys are written on the wire is `wire`'s.
//!
//! Every seal draws a fresh key and a fresh nonce from the operating system's CSPRNG, so a
//! (key, nonce) pair is never reused and no state has to be kept between calls.

use core::fmt;

use aes_gcm::AesGcm;
use aes_gcm::aead::array::typenum::{U12, U16};
use aes_gcm::aead::{AeadCore, AeadInOut, KeyInit};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub(crate) mod stream;

/// Calls a generic function with the `AesGcm` type for a key size and nonce size: one match,
/// so every combination is handled in exactly one place.
macro_rules! with_cipher {
    ($key_size:expr, $nonce_size:expr, $function:ident($($arg:expr),* $(,)?)) => {
        match ($key_size, $nonce_size) {
            (KeySize::Aes128, NonceSize::Bits96) => $function::<AesGcm<Aes128, U12>>($($arg),*),
            (KeySize::Aes128, NonceSize::Bits128) => $function::<AesGcm<Aes128, U16>>($($arg),*),
            (KeySize::Aes192, NonceSize::Bits96) => $function::<AesGcm<Aes192, U12>>($($arg),*),
            (KeySize::Aes192, NonceSize::Bits128) => $function::<AesGcm<Aes192, U16>>($($arg),*),
            (KeySize::Aes256, NonceSize::Bits96) => $function::<AesGcm<Aes256, U12>>($($arg),*),
            (KeySize::Aes256, NonceSize::Bits128) => $function::<AesGcm<Aes256, U16>>($($arg),*),
        }
    };
}

/// Tag length in bytes: the full 128-bit GCM tag; shorter tags weaken forgery resistance.
pub const TAG_LEN: usize = 16;

/// Largest key, in bytes (AES-256).
const MAX_KEY_LEN: usize = 32;
/// Largest nonce, in bytes (128 bits).
const MAX_NONCE_LEN: usize = 16;

/// An AES key size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeySize {
    /// AES-128: a 16-byte key, what the original Python service used.
    Aes128,
    /// AES-192: a 24-byte key.
    Aes192,
    /// AES-256: a 32-byte key, the default — the largest margin, at about the same speed.
    #[default]
    Aes256,
}

impl KeySize {
    /// Every key size, smallest first.
    pub const ALL: [Self; 3] = [Self::Aes128, Self::Aes192, Self::Aes256];

    /// The key length in bytes.
    #[must_use]
    pub const fn byte_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    /// The key length in bits.
    #[must_use]
    pub const fn bits(self) -> u16 {
        match self {
            Self::Aes128 => 128,
            Self::Aes192 => 192,
            Self::Aes256 => 256,
        }
    }

    /// The key size whose key is `len` bytes long.
    #[must_use]
    pub fn from_len(len: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|size| size.byte_len() == len)
    }
}

/// A GCM nonce size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NonceSize {
    /// 96 bits, the default: NIST SP 800-38D's recommended IV length. It is used as the
    /// counter block directly, with no GHASH step, and is what every GCM library expects.
    #[default]
    Bits96,
    /// 128 bits: pycryptodome's default, and so the original Python service's nonce size.
    Bits128,
}

impl NonceSize {
    /// Every nonce size, smallest first.
    pub const ALL: [Self; 2] = [Self::Bits96, Self::Bits128];

    /// The nonce length in bytes.
    #[must_use]
    pub const fn byte_len(self) -> usize {
        match self {
            Self::Bits96 => 12,
            Self::Bits128 => 16,
        }
    }

    /// The nonce length in bits.
    #[must_use]
    pub const fn bits(self) -> u16 {
        match self {
            Self::Bits96 => 96,
            Self::Bits128 => 128,
        }
    }

    /// The nonce size whose nonce is `len` bytes long.
    #[must_use]
    pub fn from_len(len: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|size| size.byte_len() == len)
    }
}

/// A byte string of the wrong length for a key, nonce or tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{actual} bytes is not a valid length (valid: {expected:?})")]
pub struct InvalidLength {
    /// The valid lengths, in bytes.
    pub expected: &'static [usize],
    /// The length given.
    pub actual: usize,
}

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
///
/// If the operating system's random number generator fails, which only happens on a broken
/// system; encrypting with a predictable key would be worse than stopping.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {err}");
    }
}

/// An AES key of 128, 192 or 256 bits. Zeroized when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    bytes: [u8; MAX_KEY_LEN],
    #[zeroize(skip)]
    size: KeySize,
}

impl Key {
    /// A fresh key of the given size from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails (see the module docs).
    #[must_use]
    pub fn generate(size: KeySize) -> Self {
        let mut key = Self {
            bytes: [0; MAX_KEY_LEN],
            size,
        };
        fill_random(&mut key.bytes[..size.byte_len()]);
        key
    }

    /// The key size.
    #[must_use]
    pub fn size(&self) -> KeySize {
        self.size
    }

    /// The raw key bytes: 16, 24 or 32 of them.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.size.byte_len()]
    }
}

impl TryFrom<&[u8]> for Key {
    type Error = InvalidLength;

    fn try_from(bytes: &[u8]) -> Result<Self, InvalidLength> {
        let size = KeySize::from_len(bytes.len()).ok_or(InvalidLength {
            expected: &[16, 24, 32],
            actual: bytes.len(),
        })?;
        let mut key = Self {
            bytes: [0; MAX_KEY_LEN],
            size,
        };
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(key)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key { .. }")
    }
}

/// A GCM nonce of 96 or 128 bits. Not secret, but kept out of `Debug` output and logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce {
    bytes: [u8; MAX_NONCE_LEN],
    size: NonceSize,
}

impl Nonce {
    /// A fresh nonce of the given size from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails (see the module docs).
    #[must_use]
    pub fn generate(size: NonceSize) -> Self {
        let mut nonce = Self {
            bytes: [0; MAX_NONCE_LEN],
            size,
        };
        fill_random(&mut nonce.bytes[..size.byte_len()]);
        nonce
    }

    /// The nonce size.
    #[must_use]
    pub fn size(&self) -> NonceSize {
        self.size
    }

    /// The raw nonce bytes: 12 or 16 of them.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.size.byte_len()]
    }
}

impl TryFrom<&[u8]> for Nonce {
    type Error = InvalidLength;

    fn try_from(bytes: &[u8]) -> Result<Self, InvalidLength> {
        let size = NonceSize::from_len(bytes.len()).ok_or(InvalidLength {
            expected: &[12, 16],
            actual: bytes.len(),
        })?;
        let mut nonce = Self {
            bytes: [0; MAX_NONCE_LEN],
            size,
        };
        nonce.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(nonce)
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

impl TryFrom<&[u8]> for Tag {
    type Error = InvalidLength;

    fn try_from(bytes: &[u8]) -> Result<Self, InvalidLength> {
        bytes.try_into().map(Self).map_err(|_| InvalidLength {
            expected: &[TAG_LEN],
            actual: bytes.len(),
        })
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag { .. }")
    }
}

/// Everything needed to decrypt one message, except any associated data: key, nonce,
/// ciphertext and tag.
///
/// `Debug` shows only the sizes. The key is zeroized when this is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The AES key this message was sealed with.
    pub key: Key,
    /// The nonce this message was sealed with.
    pub nonce: Nonce,
    /// The ciphertext, exactly as long as the plaintext.
    pub ciphertext: Vec<u8>,
    /// The authentication tag.
    pub tag: Tag,
}

zeroize_on_drop_by_fields!(Sealed { key });

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key", &self.key)
            .field("key_bits", &self.key.size().bits())
            .field("nonce", &self.nonce)
            .field("nonce_bits", &self.nonce.size().bits())
            .field("ciphertext_len", &self.ciphertext.len())
            .field("tag", &self.tag)
            .finish()
    }
}

/// How to seal: key size, nonce size and associated data. The default is AES-256, a 96-bit
/// nonce and no associated data, which is what [`seal`] uses.
///
/// ```
/// use gcm_oracle::{open_with, seal_with, KeySize, NonceSize, SealOptions};
///
/// let options = SealOptions::new()
///     .key_size(KeySize::Aes128)
///     .nonce_size(NonceSize::Bits128)
///     .aad(b"header v1");
/// let sealed = seal_with(b"hi", &options);
/// assert_eq!(sealed.key.as_bytes().len(), 16);
/// assert_eq!(open_with(&sealed, b"header v1").unwrap(), b"hi");
/// assert!(open_with(&sealed, b"header v2").is_err());
/// ```
///
/// Read the options from the fields; set them with the builder methods of the same names.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealOptions {
    /// The key size (default AES-256).
    pub key_size: KeySize,
    /// The nonce size (default 96 bits).
    pub nonce_size: NonceSize,
    /// The associated data (default none).
    pub aad: Vec<u8>,
}

impl SealOptions {
    /// AES-256, a 96-bit nonce, no associated data.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the key size.
    #[must_use]
    pub fn key_size(mut self, size: KeySize) -> Self {
        self.key_size = size;
        self
    }

    /// Sets the nonce size.
    #[must_use]
    pub fn nonce_size(mut self, size: NonceSize) -> Self {
        self.nonce_size = size;
        self
    }

    /// Sets the associated data: authenticated with the message, not encrypted, and needed
    /// again (byte for byte) to open it.
    #[must_use]
    pub fn aad(mut self, aad: impl Into<Vec<u8>>) -> Self {
        self.aad = aad.into();
        self
    }

    /// The key size these options ask for.
    #[deprecated(since = "0.3.0", note = "read the `key_size` field")]
    #[must_use]
    pub fn get_key_size(&self) -> KeySize {
        self.key_size
    }

    /// The nonce size these options ask for.
    #[deprecated(since = "0.3.0", note = "read the `nonce_size` field")]
    #[must_use]
    pub fn get_nonce_size(&self) -> NonceSize {
        self.nonce_size
    }

    /// The associated data these options carry.
    #[deprecated(since = "0.3.0", note = "read the `aad` field")]
    #[must_use]
    pub fn get_aad(&self) -> &[u8] {
        &self.aad
    }
}

impl fmt::Debug for SealOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealOptions")
            .field("key_size", &self.key_size)
            .field("nonce_size", &self.nonce_size)
            .field("aad_len", &self.aad.len())
            .finish()
    }
}

/// Opening failed: the key, nonce, ciphertext, tag or associated data is not the one that was
/// sealed.
///
/// Deliberately opaque: which of them was wrong is not knowable, and saying more would help an
/// attacker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed: the key, nonce, tag, ciphertext or associated data is not authentic")]
pub struct DecryptionFailed;

/// Encrypts `plaintext` under a fresh random AES-256 key and 96-bit nonce.
///
/// # Panics
///
/// If the operating system's random number generator fails, or if the plaintext is longer than
/// GCM allows for one message (about 64 GiB).
#[must_use]
pub fn seal(plaintext: &[u8]) -> Sealed {
    seal_with(plaintext, &SealOptions::default())
}

/// Encrypts `plaintext` under a fresh random key and nonce of the sizes in `options`,
/// authenticating its associated data.
///
/// # Panics
///
/// As [`seal`].
#[must_use]
pub fn seal_with(plaintext: &[u8], options: &SealOptions) -> Sealed {
    seal_in_place(plaintext.to_vec(), options)
}

/// As [`seal_with`], encrypting in place in a buffer the caller gives up: no copy of the clear
/// text is made, and when this returns the buffer holds only ciphertext.
///
/// ```
/// use gcm_oracle::{SealOptions, open};
///
/// let sealed = gcm_oracle::seal_in_place(b"in place".to_vec(), &SealOptions::new());
/// assert_eq!(open(&sealed).unwrap(), b"in place");
/// ```
///
/// # Panics
///
/// As [`seal`].
#[must_use]
pub fn seal_in_place(mut buffer: Vec<u8>, options: &SealOptions) -> Sealed {
    let (key, nonce, tag) = seal_in_slice(&mut buffer, options);
    Sealed {
        key,
        nonce,
        ciphertext: buffer,
        tag,
    }
}

/// As [`seal_in_place`], for clear text that is part of a larger buffer (a request body):
/// encrypts `buffer` where it lies, and returns the fresh key and nonce and the tag.
pub(crate) fn seal_in_slice(buffer: &mut [u8], options: &SealOptions) -> (Key, Nonce, Tag) {
    let (key, nonce) = fresh_key_and_nonce(options.key_size, options.nonce_size);
    let tag = encrypt_under(&key, &nonce, &options.aad, buffer);
    (key, nonce, tag)
}

/// Encrypts `buffer` in place under `key` and `nonce`, with the cipher their sizes pick.
fn encrypt_under(key: &Key, nonce: &Nonce, aad: &[u8], buffer: &mut [u8]) -> Tag {
    with_cipher!(
        key.size(),
        nonce.size(),
        encrypt_in_place(key.as_bytes(), nonce.as_bytes(), aad, buffer)
    )
}

/// A fresh key and nonce from one read of the CSPRNG: one system call per message, not two
/// (each costs about as much as sealing 64 bytes).
fn fresh_key_and_nonce(key_size: KeySize, nonce_size: NonceSize) -> (Key, Nonce) {
    let mut random = Zeroizing::new([0u8; MAX_KEY_LEN + MAX_NONCE_LEN]);
    let (key_len, nonce_len) = (key_size.byte_len(), nonce_size.byte_len());
    fill_random(&mut random[..key_len + nonce_len]);
    // Each slice is exactly its size's length, which `try_from` accepts.
    let key = Key::try_from(&random[..key_len])
        .unwrap_or_else(|_| unreachable!("a key size's own length"));
    let nonce = Nonce::try_from(&random[key_len..key_len + nonce_len])
        .unwrap_or_else(|_| unreachable!("a nonce size's own length"));
    (key, nonce)
}

/// Decrypts and authenticates a message sealed without associated data.
///
/// # Errors
///
/// [`DecryptionFailed`] if anything about the message is not authentic; nothing is returned then.
pub fn open(sealed: &Sealed) -> Result<Vec<u8>, DecryptionFailed> {
    open_with(sealed, &[])
}

/// Decrypts and authenticates a message sealed with associated data `aad`.
///
/// # Errors
///
/// [`DecryptionFailed`] if anything about the message, or `aad`, is not authentic.
pub fn open_with(sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, DecryptionFailed> {
    let mut plaintext = sealed.ciphertext.clone();
    let opened = with_cipher!(
        sealed.key.size(),
        sealed.nonce.size(),
        decrypt_in_place(
            sealed.key.as_bytes(),
            sealed.nonce.as_bytes(),
            aad,
            &mut plaintext,
            &sealed.tag
        )
    );
    match opened {
        Ok(()) => Ok(plaintext),
        Err(err) => {
            // The buffer holds unauthenticated keystream-XORed bytes: wipe it before freeing.
            plaintext.zeroize();
            Err(err)
        }
    }
}

/// Encrypts under the given key and nonce. Test vectors need a chosen key and nonce; callers
/// use [`seal_with`], which never lets one be reused.
#[cfg(test)]
pub(crate) fn seal_detached(key: Key, nonce: Nonce, aad: &[u8], plaintext: &[u8]) -> Sealed {
    let mut ciphertext = plaintext.to_vec();
    let tag = encrypt_under(&key, &nonce, aad, &mut ciphertext);
    Sealed {
        key,
        nonce,
        ciphertext,
        tag,
    }
}

fn cipher<C: KeyInit>(key: &[u8]) -> C {
    // Key and nonce lengths come from their size enums, which pick `C`: they always match.
    C::new_from_slice(key).unwrap_or_else(|_| unreachable!("key length matches the cipher"))
}

fn encrypt_in_place<C>(key: &[u8], nonce: &[u8], aad: &[u8], buffer: &mut [u8]) -> Tag
where
    C: KeyInit + AeadInOut + AeadCore<TagSize = U16>,
{
    let nonce = aes_gcm::aead::Nonce::<C>::try_from(nonce)
        .unwrap_or_else(|_| unreachable!("nonce length matches the cipher"));
    let tag = cipher::<C>(key)
        .encrypt_inout_detached(&nonce, aad, buffer.into())
        // The only error is a message over GCM's 2^36 - 32 byte limit; the server's body limit
        // is far below it, and a library caller with 64 GiB in one slice has a bug.
        .unwrap_or_else(|_| panic!("plaintext exceeds the AES-GCM message size limit"));
    Tag(tag.into())
}

fn decrypt_in_place<C>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &Tag,
) -> Result<(), DecryptionFailed>
where
    C: KeyInit + AeadInOut + AeadCore<TagSize = U16>,
{
    let nonce = aes_gcm::aead::Nonce::<C>::try_from(nonce)
        .unwrap_or_else(|_| unreachable!("nonce length matches the cipher"));
    cipher::<C>(key)
        .decrypt_inout_detached(&nonce, aad, buffer.into(), &tag.0.into())
        .map_err(|_| DecryptionFailed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
mod tests {
    use super::*;

    fn all_options() -> Vec<SealOptions> {
        let mut all = Vec::new();
        for key_size in KeySize::ALL {
            for nonce_size in NonceSize::ALL {
                all.push(SealOptions::new().key_size(key_size).nonce_size(nonce_size));
            }
        }
        all
    }

    fn round_trip(plaintext: &[u8]) {
        for options in all_options() {
            let sealed = seal_with(plaintext, &options);
            assert_eq!(sealed.ciphertext.len(), plaintext.len());
            assert_eq!(sealed.key.as_bytes().len(), options.key_size.byte_len());
            assert_eq!(sealed.nonce.as_bytes().len(), options.nonce_size.byte_len());
            assert_eq!(open(&sealed).unwrap(), plaintext, "{options:?}");
        }
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
    fn default_seal_is_aes_256_with_a_96_bit_nonce() {
        let sealed = seal(b"x");
        assert_eq!(sealed.key.size(), KeySize::Aes256);
        assert_eq!(sealed.key.as_bytes().len(), 32);
        assert_eq!(sealed.nonce.as_bytes().len(), 12);
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
    fn one_read_of_the_rng_gives_a_key_and_a_nonce_of_each_size_with_no_shared_bytes() {
        for key_size in [KeySize::Aes128, KeySize::Aes192, KeySize::Aes256] {
            for nonce_size in [NonceSize::Bits96, NonceSize::Bits128] {
                let (key, nonce) = fresh_key_and_nonce(key_size, nonce_size);
                assert_eq!(key.as_bytes().len(), key_size.byte_len());
                assert_eq!(nonce.as_bytes().len(), nonce_size.byte_len());
                assert!(key.bytes[key_size.byte_len()..].iter().all(|&b| b == 0));
                assert!(nonce.bytes[nonce_size.byte_len()..].iter().all(|&b| b == 0));
                // Overlapping slices of the random bytes would repeat at least 8 of them.
                assert!(
                    !key.as_bytes()
                        .windows(8)
                        .any(|w| nonce.as_bytes().windows(8).any(|v| v == w))
                );
                let (again, _) = fresh_key_and_nonce(key_size, nonce_size);
                assert_ne!(key, again);
            }
        }
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
        sealed.nonce.bytes[0] ^= 0x01;
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_different_key() {
        let mut sealed = seal(b"hello world");
        sealed.key = Key::generate(KeySize::Aes256);
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_a_truncated_ciphertext() {
        let mut sealed = seal(b"hello world");
        sealed.ciphertext.pop();
        assert_eq!(open(&sealed), Err(DecryptionFailed));
    }

    #[test]
    fn open_rejects_missing_or_different_associated_data() {
        let sealed = seal_with(b"hello", &SealOptions::new().aad(b"context"));
        assert_eq!(open_with(&sealed, b"context").unwrap(), b"hello");
        assert_eq!(open(&sealed), Err(DecryptionFailed));
        assert_eq!(open_with(&sealed, b"contexT"), Err(DecryptionFailed));
    }

    #[test]
    fn keys_and_nonces_of_invalid_lengths_are_refused() {
        assert_eq!(
            Key::try_from(&[0u8; 20][..]).unwrap_err(),
            InvalidLength {
                expected: &[16, 24, 32],
                actual: 20
            }
        );
        assert!(Nonce::try_from(&[0u8; 8][..]).is_err());
        assert!(Tag::try_from(&[0u8; 12][..]).is_err());
        assert_eq!(
            Key::try_from(&[1u8; 24][..]).unwrap().size(),
            KeySize::Aes192
        );
    }

    #[test]
    fn debug_never_shows_key_nonce_or_tag_bytes() {
        let sealed = seal(b"secret clear text");
        let shown = format!("{sealed:?} {:?}", sealed.key);
        assert_eq!(
            shown,
            "Sealed { key: Key { .. }, key_bits: 256, nonce: Nonce { .. }, nonce_bits: 96, \
             ciphertext_len: 17, tag: Tag { .. } } Key { .. }"
        );
        let options = format!("{:?}", SealOptions::new().aad(b"secret aad"));
        assert!(!options.contains("secret"), "{options}");
    }

    #[test]
    fn key_is_zeroized_in_place() {
        let mut key = Key::generate(KeySize::Aes256);
        assert_ne!(key.bytes, [0; MAX_KEY_LEN]);
        key.zeroize();
        assert_eq!(key.bytes, [0; MAX_KEY_LEN]);
    }

    /// The whole Project Wycheproof AES-GCM suite: every vector whose key, nonce and tag sizes
    /// this crate supports must behave exactly as Wycheproof says (valid vectors reproduce
    /// ciphertext and tag; invalid ones are refused), and every other vector is refused by size.
    #[test]
    fn wycheproof_aes_gcm_vectors() {
        use wycheproof::TestResult;
        use wycheproof::aead::{TestName, TestSet};

        let set = TestSet::load(TestName::AesGcm).unwrap();
        let mut ran = std::collections::BTreeMap::<(usize, usize), (usize, usize)>::new();
        let mut refused_by_size = 0;
        for group in set.test_groups {
            for test in group.tests {
                let description = format!("tcId {} ({})", test.tc_id, test.comment);
                let parts = (
                    Key::try_from(&test.key[..]),
                    Nonce::try_from(&test.nonce[..]),
                    Tag::try_from(&test.tag[..]),
                );
                let (Ok(key), Ok(nonce), Ok(tag)) = parts else {
                    let supported = KeySize::from_len(test.key.len()).is_some()
                        && NonceSize::from_len(test.nonce.len()).is_some()
                        && test.tag.len() == TAG_LEN;
                    assert!(!supported, "{description}");
                    refused_by_size += 1;
                    continue;
                };
                let counts = ran.entry((group.key_size, group.nonce_size)).or_default();
                match test.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        let sealed = seal_detached(key.clone(), nonce, &test.aad, &test.pt);
                        assert_eq!(sealed.ciphertext, *test.ct, "{description}");
                        assert_eq!(sealed.tag, tag, "{description}");
                        let opened = open_with(&sealed, &test.aad).unwrap();
                        assert_eq!(opened, *test.pt, "{description}");
                        counts.0 += 1;
                    }
                    TestResult::Invalid => {
                        let sealed = Sealed {
                            key,
                            nonce,
                            ciphertext: test.ct.to_vec(),
                            tag,
                        };
                        let opened = open_with(&sealed, &test.aad);
                        assert_eq!(opened, Err(DecryptionFailed), "{description}");
                        counts.1 += 1;
                    }
                }
            }
        }
        // Every supported combination ran valid vectors, and the suite's other sizes exist.
        for key_size in KeySize::ALL {
            for nonce_size in NonceSize::ALL {
                let bits = (usize::from(key_size.bits()), usize::from(nonce_size.bits()));
                let (valid, _) = ran.get(&bits).copied().unwrap_or_default();
                assert!(valid > 0, "no valid vectors for {bits:?}: {ran:?}");
            }
        }
        let invalid: usize = ran.values().map(|counts| counts.1).sum();
        assert!(invalid > 10, "only {invalid} invalid vectors ran");
        assert!(
            refused_by_size > 10,
            "only {refused_by_size} vectors of other sizes"
        );
    }
}
