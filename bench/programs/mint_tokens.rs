//! A stand-in for Clerk in benchmarks: makes an RSA key, writes its JWKS and one
//! RS256 session token per user (`u1` … `uN`, as `bench/read_path.sh` seeds
//! them), so the authenticated read path can be measured with real tokens.
//! Signed with OpenSSL (already linked): a pure-Rust RSA signature costs about
//! a millisecond, and 100k of them would take longer than the benchmark.
//!
//! Arguments: OUT_DIR USERS ISSUER [FIRST_USER]. Tokens carry `azp` =
//! [`PARTY`] (user-api refuses tokens without an authorized party).
//! Writes OUT_DIR/.well-known/jwks.json and OUT_DIR/tokens.txt ("id token"
//! per line).

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::json;

/// The frontend origin the tokens are minted for (`CLERK_AUTHORIZED_PARTIES`).
const PARTY: &str = "http://bench.userlib.test";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (out, users, issuer) = (&args[1], args[2].parse::<usize>()?, &args[3]);
    let first: usize = args.get(4).map_or(Ok(1), |a| a.parse())?;
    let rsa = Rsa::generate(2048)?;
    let jwks = json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench",
        "n": B64.encode(rsa.n().to_vec()), "e": B64.encode(rsa.e().to_vec()),
    }]});
    std::fs::create_dir_all(format!("{out}/.well-known"))?;
    std::fs::write(format!("{out}/.well-known/jwks.json"), jwks.to_string())?;

    let key = PKey::from_rsa(rsa)?;
    let header = B64.encode(json!({"alg": "RS256", "typ": "JWT", "kid": "bench"}).to_string());
    let now = chrono::Utc::now().timestamp();
    let mut file = std::io::BufWriter::new(std::fs::File::create(format!("{out}/tokens.txt"))?);
    for i in first..first + users {
        let id = format!("u{i}");
        let claims = json!({"sub": id, "iss": issuer, "azp": PARTY, "iat": now, "nbf": now - 5,
                            "exp": now + 3600, "sid": format!("sess_{i}")});
        let signing_input = format!("{header}.{}", B64.encode(claims.to_string()));
        let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
        signer.update(signing_input.as_bytes())?;
        let signature = B64.encode(signer.sign_to_vec()?);
        writeln!(file, "{id} {signing_input}.{signature}")?;
    }
    file.flush()?;
    Ok(())
}
