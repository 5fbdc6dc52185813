//! Asymmetric keys (feature `recipient`): generating key pairs, and wrapping an AES key for a
//! recipient's RSA (OAEP) or X25519 (HPKE) public key, or unwrapping it with the private key.

pub(crate) mod keypair;
pub(crate) mod recipient;
