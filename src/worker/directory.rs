//! The user directory's relay and backfill (docs/user-directory.md): events
//! committed to the outbox (sql/V5) go to the compacted directory topic,
//! keyed by the Clerk user id — the public view as JSON, or a tombstone (no
//! value) for a deleted user, so that compaction erases them from the topic.
//!
//! An event leaves the outbox only after the broker acknowledged it
//! (idempotent producer, `acks=all`), so a relay killed at any moment loses
//! nothing and may publish some events again; consumers drop a version they
//! have already passed. Per user, events are published in version order: one
//! relay at a time (the outbox's lock), one partition per user (the key,
//! hashed as Java and kafka-python clients hash it), and a failed turn is
//! published again from its first event.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::KafkaSettings;
use crate::db::RelayTurn;
use crate::domain::DirectoryEntry;
use crate::metrics as names;
use crate::service::{ServiceError, UserService};

/// Most events one turn takes from the outbox.
const TURN_LIMIT: i64 = 1000;
/// How long a relay that found another holding the outbox waits to try again.
const BUSY_WAIT: Duration = Duration::from_millis(500);
/// How long the relay waits after a failed turn (database or broker down).
const FAILURE_WAIT: Duration = Duration::from_secs(1);
/// Users per backfill page.
const BACKFILL_PAGE: i64 = 1000;

/// A directory record's value: the public view, as `GET /user/{id}` shows it
/// to another user, with its time and version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileValue<'a> {
    clerk_user_id: &'a str,
    username: Option<&'a str>,
    first_name: &'a str,
    last_name: &'a str,
    updated_at: String,
    version: i64,
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The directory record of `entry`: its value (`None`: a tombstone).
fn value_of(entry: &DirectoryEntry) -> Option<Vec<u8>> {
    entry.profile.as_ref().map(|p| {
        serde_json::to_vec(&ProfileValue {
            clerk_user_id: &entry.clerk_user_id,
            username: p.username.as_deref(),
            first_name: &p.first_name,
            last_name: &p.last_name,
            updated_at: rfc3339(&p.updated_at),
            version: entry.version,
        })
        .expect("a struct of strings serialises")
    })
}

/// The directory producer: the reply producer's settings (idempotent,
/// `acks=all`), with keys partitioned as the Java client and kafka-python do,
/// so that every client agrees on where a user's records live.
pub fn producer(settings: &KafkaSettings) -> rdkafka::error::KafkaResult<FutureProducer> {
    let mut config = super::kafka::producer_config(settings);
    if config.get("partitioner").is_none() {
        config.set("partitioner", "murmur2_random");
    }
    config.create()
}

/// Publishes `entries` in order and waits for every acknowledgement.
async fn publish(
    producer: &FutureProducer,
    topic: &str,
    entries: Vec<DirectoryEntry>,
) -> Result<(), rdkafka::error::KafkaError> {
    let mut deliveries = Vec::with_capacity(entries.len());
    for entry in &entries {
        let version = entry.version.to_string();
        let value = value_of(entry);
        let mut record = FutureRecord::<str, [u8]>::to(topic)
            .key(&entry.clerk_user_id)
            .headers(OwnedHeaders::new().insert(Header {
                key: "version",
                value: Some(version.as_bytes()),
            }));
        if let Some(value) = &value {
            record = record.payload(value);
        }
        match producer.send_result(record) {
            Ok(delivery) => deliveries.push(delivery),
            Err((e, _)) => return Err(e),
        }
    }
    for delivered in join_all(deliveries).await {
        match delivered {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return Err(e),
            Err(_cancelled) => return Err(rdkafka::error::KafkaError::Canceled),
        }
    }
    let now = Utc::now();
    for entry in &entries {
        let waited = (now - entry.written_at).to_std().unwrap_or_default();
        metrics::histogram!(names::DIRECTORY_PUBLISH_LATENCY).record(waited.as_secs_f64());
    }
    Ok(())
}

/// One turn: publishes what is waiting, if this relay may.
async fn turn(
    service: &UserService,
    producer: &FutureProducer,
    topic: &str,
) -> Result<RelayTurn<rdkafka::error::KafkaError>, ServiceError> {
    service
        .relay_directory(TURN_LIMIT, |entries| publish(producer, topic, entries))
        .await
}

/// Relays the outbox to the directory topic until `shutdown`. `poll` is how
/// often an idle relay looks for new events (the publish latency's floor).
pub async fn relay(
    service: Arc<UserService>,
    producer: FutureProducer,
    topic: String,
    poll: Duration,
    shutdown: CancellationToken,
) {
    tracing::info!(%topic, "relaying the user directory");
    while !shutdown.is_cancelled() {
        // Every worker measures the lag, the relay or not: the alert holds
        // even when no relay runs.
        let wait = match service.directory_lag().await {
            Ok(None) => {
                metrics::gauge!(names::DIRECTORY_LAG).set(0.0);
                poll
            }
            Ok(Some(lag)) => {
                metrics::gauge!(names::DIRECTORY_LAG).set(lag);
                match turn(&service, &producer, &topic).await {
                    Ok(RelayTurn::Relayed(n)) => {
                        metrics::counter!(names::DIRECTORY_PUBLISHED).increment(n as u64);
                        Duration::ZERO
                    }
                    Ok(RelayTurn::Empty) => poll,
                    Ok(RelayTurn::Busy) => BUSY_WAIT,
                    Ok(RelayTurn::PublishFailed(e)) => {
                        metrics::counter!(names::DIRECTORY_FAILURES, "cause" => "broker")
                            .increment(1);
                        tracing::warn!(error = %e, retry_in = ?FAILURE_WAIT,
                            "publishing the user directory failed; the events stay in the outbox");
                        FAILURE_WAIT
                    }
                    Err(e) => {
                        metrics::counter!(names::DIRECTORY_FAILURES, "cause" => "database")
                            .increment(1);
                        tracing::warn!(error = %e, retry_in = ?FAILURE_WAIT, "relaying the user directory failed");
                        FAILURE_WAIT
                    }
                }
            }
            Err(e) => {
                metrics::counter!(names::DIRECTORY_FAILURES, "cause" => "database").increment(1);
                tracing::warn!(error = %e, retry_in = ?FAILURE_WAIT, "reading the directory outbox failed");
                FAILURE_WAIT
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// `user-worker publish-directory`: every current user's public view goes
/// through the outbox once more, then this waits until it has all been
/// published (relaying it itself when no running worker does). Safe while
/// the service runs: each page is read under a share lock, so a concurrent
/// change lands either before or after the page's event, never under it.
/// Returns how many users were enqueued.
pub async fn backfill(
    service: &UserService,
    producer: &FutureProducer,
    topic: &str,
) -> Result<usize, ServiceError> {
    let mut after = String::new();
    let mut users = 0;
    let mut last_version = None;
    loop {
        let page = service
            .enqueue_directory_page(&after, BACKFILL_PAGE)
            .await?;
        users += page.users;
        last_version = page.last_version.or(last_version);
        match page.last_user {
            Some(last) => after = last,
            None => break,
        }
        tracing::info!(users, "directory backfill: enqueued");
    }
    let Some(last_version) = last_version else {
        return Ok(0);
    };
    while service.directory_pending_up_to(last_version).await? {
        match turn(service, producer, topic).await? {
            RelayTurn::Relayed(n) => {
                metrics::counter!(names::DIRECTORY_PUBLISHED).increment(n as u64);
            }
            RelayTurn::Empty => {}
            RelayTurn::Busy => tokio::time::sleep(BUSY_WAIT).await,
            RelayTurn::PublishFailed(e) => {
                tracing::warn!(error = %e, "publishing failed; retrying");
                tokio::time::sleep(FAILURE_WAIT).await;
            }
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PublicProfile;

    #[test]
    fn a_profile_is_the_public_view_and_a_deletion_a_tombstone() {
        let at: DateTime<Utc> = "2026-12-01T10:00:00.5Z".parse().unwrap();
        let mut entry = DirectoryEntry {
            version: 42,
            clerk_user_id: "user_1".into(),
            profile: Some(PublicProfile {
                username: None,
                first_name: "Ada".into(),
                last_name: "L".into(),
                updated_at: at,
            }),
            written_at: at,
        };
        let value: serde_json::Value = serde_json::from_slice(&value_of(&entry).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"clerkUserId": "user_1", "username": null, "firstName": "Ada",
                "lastName": "L", "updatedAt": "2026-12-01T10:00:00.500000Z", "version": 42})
        );
        entry.profile = None;
        assert_eq!(value_of(&entry), None);
    }
}
