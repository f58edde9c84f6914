//! TLS to PostgreSQL, as libpq's `sslmode` and `sslrootcert` describe it, for
//! every connection we open (the pool, the shared read clients, migrations,
//! the legacy import).
//!
//! OpenSSL through `postgres-openssl` (tokio-postgres's own companion crate):
//! OpenSSL is linked already for librdkafka's TLS, so this adds no second TLS
//! stack, and its verification is what libpq itself uses.
//!
//! | `sslmode` | encrypted | server certificate checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | – | – |
//! | `prefer` (default) | if the server offers it | no | no |
//! | `require` | yes | only with `sslrootcert` (as libpq) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! Without `sslrootcert` the system's CA store is used.

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

use super::ConfigError;
use super::database::{PgTls, TlsMode};

/// The connector for `tls`; tokio-postgres's own `sslmode` (set from the
/// same URL) decides whether it is used. Built once, at start-up, so a bad
/// CA file stops start-up with a line naming it.
pub(super) fn connector(tls: &PgTls) -> Result<MakeTlsConnector, ConfigError> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |e: openssl::error::ErrorStack| ConfigError::new(format!("DATABASE_URL {what}: {e}"))
    };
    let mut builder = SslConnector::builder(SslMethod::tls()).map_err(failed("TLS set-up"))?;
    if let Some(ca) = &tls.root_cert {
        builder
            .set_ca_file(ca)
            .map_err(failed("sslrootcert is not a PEM CA file"))?;
    }
    let check_certificate = match tls.mode {
        TlsMode::Disable | TlsMode::Prefer => false,
        TlsMode::Require => tls.root_cert.is_some(),
        TlsMode::VerifyCa | TlsMode::VerifyFull => true,
    };
    if !check_certificate {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    if tls.mode != TlsMode::VerifyFull {
        connector.set_callback(|config, _host| {
            config.set_verify_hostname(false);
            Ok(())
        });
    }
    Ok(connector)
}
