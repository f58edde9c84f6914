//! A stand-in for Clerk in tests: an RSA key pair made here, its JWKS served by a
//! local HTTP server, and session tokens minted with it.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const ISSUER: &str = "https://clerk.userlib.test";
pub const PARTY: &str = "https://app.userlib.test";
pub const SERVICE_TOKEN: &str = "svc_orchestrator_7f3a9c2e41d86b05";
pub const CLERK_WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_stripe_test_secret";

pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
    pub public: RsaPublicKey,
}

fn generate() -> KeyPair {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = RsaPublicKey::from(&private);
    KeyPair {
        private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        public,
    }
}

/// The published key ("k1") and one Clerk never published ("k2").
pub fn keys() -> &'static (KeyPair, KeyPair) {
    // Before this process's first jsonwebtoken call (minting included), so the
    // tests check tokens the way the binaries do (src/auth/rs256.rs).
    assert!(
        userlib::auth::install_rs256(),
        "jsonwebtoken was used before the service's provider was installed"
    );
    static KEYS: OnceLock<(KeyPair, KeyPair)> = OnceLock::new();
    KEYS.get_or_init(|| (generate(), generate()))
}

pub fn jwk(kid: &str, key: &KeyPair) -> Value {
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(key.public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.public.e().to_bytes_be()),
    })
}

/// A JWKS endpoint publishing "k1".
pub async fn jwks_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/jwks.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk("k1", &keys().0)]})),
        )
        .mount(&server)
        .await;
    server
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for `sub`; tests change what they need.
pub fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "azp": PARTY, "iat": now(), "nbf": now() - 5, "exp": now() + 120, "sid": "sess_1"})
}

/// A RS256 token signed with `key`, header `kid`.
pub fn sign(claims: &Value, kid: &str, key: &KeyPair) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A valid session token of `sub`.
pub fn token(sub: &str) -> String {
    sign(&claims(sub), "k1", &keys().0)
}

/// The app's environment for Clerk mode against `jwks`.
pub fn env(jwks: &MockServer) -> Vec<(String, String)> {
    [
        ("AUTH_MODE", "clerk".to_string()),
        (
            "CLERK_JWKS_URL",
            format!("{}/.well-known/jwks.json", jwks.uri()),
        ),
        ("CLERK_ISSUER", ISSUER.into()),
        ("CLERK_AUTHORIZED_PARTIES", PARTY.into()),
        (
            "SERVICE_TOKENS",
            format!("svc_another_0d9e8c7b6a5f4e3d2c1b,{SERVICE_TOKEN}"),
        ),
        ("CLERK_WEBHOOK_SECRET", CLERK_WEBHOOK_SECRET.into()),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET.into()),
        ("CORS_ALLOWED_ORIGINS", PARTY.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Svix's `svix-signature` of a Clerk webhook delivery (`v1,` HMAC-SHA256 of
/// `id.timestamp.body` under [`CLERK_WEBHOOK_SECRET`]).
pub fn svix_signature(id: &str, ts: i64, body: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    let key = STANDARD
        .decode(CLERK_WEBHOOK_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
