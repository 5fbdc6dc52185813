//! Property tests: sealing then opening returns the input for any bytes, associated data and
//! sizes, and flipping any single bit of ciphertext, tag, nonce or associated data makes
//! opening fail.

use gcm_oracle::{
    DecryptionFailed, Envelope, KeySize, Nonce, NonceSize, SealOptions, Sealed, Tag, open_with,
    seal_with,
};
use proptest::prelude::*;

fn key_size() -> impl Strategy<Value = KeySize> {
    prop::sample::select(KeySize::ALL.to_vec())
}

fn nonce_size() -> impl Strategy<Value = NonceSize> {
    prop::sample::select(NonceSize::ALL.to_vec())
}

fn options() -> impl Strategy<Value = SealOptions> {
    (
        key_size(),
        nonce_size(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(key_size, nonce_size, aad)| {
            SealOptions::new()
                .key_size(key_size)
                .nonce_size(nonce_size)
                .aad(aad)
        })
}

/// Which part of a sealed message to corrupt.
#[derive(Clone, Copy, Debug)]
enum Part {
    Ciphertext,
    Tag,
    Nonce,
    Aad,
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8 % bytes.len()] ^= 1 << (bit % 8);
}

proptest! {
    #[test]
    fn open_of_seal_is_identity(plaintext in prop::collection::vec(any::<u8>(), 0..2048), options in options()) {
        let sealed = seal_with(&plaintext, &options);
        prop_assert_eq!(sealed.ciphertext.len(), plaintext.len());
        prop_assert_eq!(open_with(&sealed, &options.aad).unwrap(), plaintext.clone());
        // And through the wire form.
        let envelope = Envelope::from(&sealed);
        prop_assert_eq!(envelope.open_with(&options.aad).unwrap(), plaintext);
    }

    #[test]
    fn flipping_any_bit_makes_opening_fail(
        plaintext in prop::collection::vec(any::<u8>(), 1..512),
        options in options(),
        part in prop::sample::select(vec![Part::Ciphertext, Part::Tag, Part::Nonce, Part::Aad]),
        bit in any::<usize>(),
    ) {
        let mut sealed: Sealed = seal_with(&plaintext, &options);
        let mut aad = options.aad.clone();
        match part {
            Part::Ciphertext => flip(&mut sealed.ciphertext, bit),
            Part::Tag => {
                let mut tag = *sealed.tag.as_bytes();
                flip(&mut tag, bit);
                sealed.tag = Tag::from(tag);
            }
            Part::Nonce => {
                let mut nonce = sealed.nonce.as_bytes().to_vec();
                flip(&mut nonce, bit);
                sealed.nonce = Nonce::try_from(&nonce[..]).unwrap();
            }
            Part::Aad if aad.is_empty() => aad.push(1 << (bit % 8)),
            Part::Aad => flip(&mut aad, bit),
        }
        prop_assert_eq!(open_with(&sealed, &aad), Err(DecryptionFailed));
    }
}
