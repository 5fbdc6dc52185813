//! Secret hygiene of the public types: every type that owns a key, a private key or clear
//! text wipes it when dropped. The bound below fails to compile if one stops doing so.

use gcm_oracle::{
    Answer, DecryptRequest, DecryptResponse, EncryptRequest, Envelope, EnvelopeJson, Key, Keypair,
    Sealed,
};
use zeroize::ZeroizeOnDrop;

use crate::crate_paths::PrivateKey;

fn wipes_itself_on_drop<T: ZeroizeOnDrop>() -> &'static str {
    std::any::type_name::<T>()
}

#[test]
fn every_type_owning_a_key_or_clear_text_is_zeroize_on_drop() {
    let checked = [
        wipes_itself_on_drop::<Key>(),
        wipes_itself_on_drop::<Sealed>(),
        wipes_itself_on_drop::<Answer>(),
        wipes_itself_on_drop::<EnvelopeJson>(),
        wipes_itself_on_drop::<Envelope>(),
        wipes_itself_on_drop::<EncryptRequest>(),
        wipes_itself_on_drop::<DecryptRequest>(),
        wipes_itself_on_drop::<DecryptResponse>(),
        wipes_itself_on_drop::<Keypair>(),
        wipes_itself_on_drop::<PrivateKey>(),
    ];
    assert!(checked.iter().all(|name| name.starts_with("gcm_oracle::")));
}
