//! Cut-over from the Flask service: `user-api import-legacy` brings its users
//! across, cleaned by our domain rules and reported, never silently fixed.
//!
//! The legacy database is only read, in one read-only `REPEATABLE READ`
//! transaction (one consistent snapshot), streamed in key order through a
//! portal so memory stays flat whatever its size. Case-insensitive collisions
//! are found first, over that same snapshot. Rows are cleaned (`clean.rs`) and
//! upserted in batches through the repository (`db/import.rs`), which only
//! replaces a row of ours with a newer legacy one, so the import can be run
//! early and again right at the switch. Every rejected or changed value is a
//! line of the report (`report.rs`).

mod clean;
#[cfg(test)]
mod clean_tests;
mod report;
mod source;

use std::path::PathBuf;

pub use clean::{Action, Finding, LegacyRow, Rule};
pub use report::Summary;

use crate::db::{DbError, Imported, Repository};

/// Rows read from the legacy database per round trip, and upserted per statement.
const BATCH: usize = 1000;

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The legacy database (`--from`).
    pub legacy_url: String,
    /// Write only the report; leave our database untouched.
    pub dry_run: bool,
    /// Where the report goes (JSON Lines, one finding per line).
    pub report_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the legacy database URL (--from) cannot be used: {0}")]
    LegacyUrl(#[source] crate::config::ConfigError),
    #[error("reading the legacy database failed")]
    Legacy(#[source] tokio_postgres::Error),
    #[error("writing users failed")]
    Target(#[source] DbError),
    #[error("writing the report to {path} failed")]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the import; `target` is `None` for a dry run.
pub async fn import(
    options: &ImportOptions,
    target: Option<&Repository>,
) -> Result<Summary, ImportError> {
    let mut report = report::Report::create(&options.report_path)?;
    let mut legacy = source::LegacyDb::connect(&options.legacy_url).await?;
    let snapshot = legacy.snapshot().await?;
    let collisions = snapshot.collisions().await?;
    let mut rows = snapshot.rows(BATCH).await?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(chunk) = rows.next_chunk().await? {
        for row in chunk {
            report.summary.read += 1;
            let lost = collisions
                .get(&row.clerk_user_id)
                .cloned()
                .unwrap_or_default();
            let cleaned = clean::clean(row, &lost);
            report.write_all(&cleaned.findings)?;
            match cleaned.user {
                Some(user) => batch.push(user),
                None => report.summary.skipped += 1,
            }
        }
        write(target, &mut batch, &mut report).await?;
    }
    write(target, &mut batch, &mut report).await?;
    drop(rows);
    drop(snapshot);
    legacy.close().await;
    report.finish()
}

/// Upserts `batch` (counts it as importable on a dry run) and empties it.
async fn write(
    target: Option<&Repository>,
    batch: &mut Vec<crate::domain::ImportedUser>,
    report: &mut report::Report,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let Some(repo) = target else {
        report.summary.importable += batch.len() as u64;
        batch.clear();
        return Ok(());
    };
    let outcomes = repo
        .import_users(batch)
        .await
        .map_err(ImportError::Target)?;
    for (user, outcome) in batch.iter().zip(outcomes) {
        let s = &mut report.summary;
        match outcome {
            Imported::Inserted => s.inserted += 1,
            Imported::Updated => s.updated += 1,
            Imported::Unchanged => s.unchanged += 1,
            Imported::Deleted => {
                s.skipped += 1;
                report.write_all(&[Finding {
                    clerk_user_id: user.clerk_user_id.to_string(),
                    rule: Rule::DeletedUser,
                    action: Action::Skipped,
                    detail: Some("deleted in Clerk since; not brought back".into()),
                }])?;
            }
            Imported::Conflict(conflict) => {
                s.skipped += 1;
                let rule = match conflict {
                    crate::db::Conflict::Username => Rule::UsernameTaken,
                    _ => Rule::EmailTaken,
                };
                report.write_all(&[Finding {
                    clerk_user_id: user.clerk_user_id.to_string(),
                    rule,
                    action: Action::Skipped,
                    detail: Some("already used by another user of this service".into()),
                }])?;
            }
        }
    }
    batch.clear();
    Ok(())
}
