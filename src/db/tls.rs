//! TLS to PostgreSQL: the OpenSSL connector every connection we open uses
//! (the pool, the shared read clients, migrations, the legacy import), built
//! from the settings' `sslmode`/`sslrootcert` (`config::PgTls`).
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

use super::DbError;
use crate::config::{DatabaseSettings, TlsMode};

/// The connector for the settings' `sslmode`/`sslrootcert`; tokio-postgres's
/// own `sslmode` (set from the same URL) decides whether it is used. Build it
/// once per process part and clone it: it holds the parsed CA file.
pub fn tls_connector(settings: &DatabaseSettings) -> Result<MakeTlsConnector, DbError> {
    let tls = &settings.tls;
    let failed = |e: openssl::error::ErrorStack| DbError::TlsSetup(e.to_string());
    let mut builder = SslConnector::builder(SslMethod::tls()).map_err(failed)?;
    if let Some(ca) = &tls.root_cert {
        builder.set_ca_file(ca).map_err(failed)?;
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
