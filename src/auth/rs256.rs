//! RS256 signature checks against keys parsed once.
//!
//! Under token rotation a replica verifies most session tokens for the first
//! time, so a signature check is on the production read path. jsonwebtoken's
//! aws-lc backend rebuilds the RSA key from the JWK's modulus and exponent on
//! every check, and with it AWS-LC's Montgomery context for the modulus: a
//! third on top of the signature arithmetic itself (docs/security.md,
//! Authentication). jsonwebtoken lets a process install its own
//! `CryptoProvider`; this one is its aws-lc provider, except that an RS256
//! check uses a key parsed on first use and kept. Every other check (the
//! pinned algorithm, `kid`, the claims) stays jsonwebtoken's: only where the
//! key comes from changes, and a key is looked up by its exact bytes, so a
//! token can only ever be checked against the key it was given.

use std::sync::{Arc, LazyLock, Mutex};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, aws_lc};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};

/// Parsed keys kept at most; a key set holds one or two, and each rotation
/// adds one. Past this the cache starts again (a rotation's worth of parses).
const MAX_KEYS: usize = 16;

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    verifier_factory: verifier,
    ..aws_lc::DEFAULT_PROVIDER.clone()
});

/// The keys parsed so far, with what each was parsed from: a handful, so a
/// check compares bytes instead of building and hashing a map key.
static PARSED: Mutex<Vec<(DecodingKeyKind, Arc<ParsedPublicKey>)>> = Mutex::new(Vec::new());

/// Makes this the process's jsonwebtoken provider. Must run before the
/// process's first jsonwebtoken call; `false` when another provider was
/// installed (or used) first, and jsonwebtoken's own checks run instead.
pub fn install() -> bool {
    match PROVIDER.install_default() {
        Ok(()) => true,
        Err(installed) => std::ptr::eq(installed, &*PROVIDER),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if *algorithm != Algorithm::RS256 {
        return (aws_lc::DEFAULT_PROVIDER.verifier_factory)(algorithm, key);
    }
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(Rs256(parsed(key.kind())?)))
}

/// The parsed form of `key`, parsed now if it was not yet.
fn parsed(key: &DecodingKeyKind) -> Result<Arc<ParsedPublicKey>, Error> {
    let mut cache = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, parsed)) = cache.iter().find(|(kind, _)| same(kind, key)) {
        return Ok(parsed.clone());
    }
    let rejected =
        |e: aws_lc_rs::error::KeyRejected| Error::from(ErrorKind::InvalidRsaKey(e.to_string()));
    let parsed = Arc::new(match key {
        DecodingKeyKind::SecretOrDer(der) => {
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).map_err(rejected)?
        }
        DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(rejected)?,
    });
    if cache.len() >= MAX_KEYS {
        cache.clear();
    }
    cache.push((key.clone(), parsed.clone()));
    Ok(parsed)
}

/// Whether two keys are the same bytes of the same kind.
fn same(a: &DecodingKeyKind, b: &DecodingKeyKind) -> bool {
    match (a, b) {
        (DecodingKeyKind::SecretOrDer(a), DecodingKeyKind::SecretOrDer(b)) => a == b,
        (
            DecodingKeyKind::RsaModulusExponent { n, e },
            DecodingKeyKind::RsaModulusExponent { n: n2, e: e2 },
        ) => n == n2 && e == e2,
        _ => false,
    }
}

struct Rs256(Arc<ParsedPublicKey>);

impl jsonwebtoken::signature::Verifier<Vec<u8>> for Rs256 {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> Result<(), jsonwebtoken::signature::Error> {
        self.0
            .verify_sig(message, signature)
            .map_err(jsonwebtoken::signature::Error::from_source)
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;

    fn rsa() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    }

    fn sign(key: &PKey<Private>, message: &[u8]) -> Vec<u8> {
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key).unwrap();
        signer.sign_oneshot_to_vec(message).unwrap()
    }

    fn jwk(key: &PKey<Private>) -> DecodingKey {
        let rsa = key.rsa().unwrap();
        DecodingKey::from_rsa_raw_components(&rsa.n().to_vec(), &rsa.e().to_vec())
    }

    fn pem(key: &PKey<Private>) -> DecodingKey {
        DecodingKey::from_rsa_pem(&key.public_key_to_pem().unwrap()).unwrap()
    }

    fn check(key: &DecodingKey, message: &[u8], signature: Vec<u8>) -> bool {
        verifier(&Algorithm::RS256, key)
            .unwrap()
            .verify(message, &signature)
            .is_ok()
    }

    #[test]
    fn a_signature_holds_only_for_its_key_and_message() {
        let (signer, other) = (rsa(), rsa());
        let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ";
        for key in [jwk(&signer), pem(&signer)] {
            assert!(check(&key, message, sign(&signer, message)));
            assert!(!check(
                &key,
                b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzIifQ",
                sign(&signer, message)
            ));
            assert!(!check(&key, message, sign(&other, message)));
            let mut flipped = sign(&signer, message);
            flipped[7] ^= 1;
            assert!(!check(&key, message, flipped));
        }
    }

    #[test]
    fn each_key_is_parsed_once_and_keys_never_share_an_entry() {
        let (a, b) = (rsa(), rsa());
        let first = parsed(jwk(&a).kind()).unwrap();
        assert!(Arc::ptr_eq(&first, &parsed(jwk(&a).kind()).unwrap()));
        assert!(!Arc::ptr_eq(&first, &parsed(jwk(&b).kind()).unwrap()));
        assert!(!Arc::ptr_eq(&first, &parsed(pem(&a).kind()).unwrap()));
    }

    #[test]
    fn only_rsa_keys_check_rs256() {
        let secret = DecodingKey::from_secret(b"a shared secret of some length");
        assert!(verifier(&Algorithm::RS256, &secret).is_err());
        // A modulus too small to be a key: refused when parsed or when used.
        let tiny = DecodingKey::from_rsa_raw_components(b"\x01\x02", b"\x03");
        let refused = match verifier(&Algorithm::RS256, &tiny) {
            Err(_) => true,
            Ok(check) => check.verify(b"m", &vec![1; 256]).is_err(),
        };
        assert!(refused);
    }
}
