//! One polled command and how far it got (parsed, answered, delivered), and
//! putting its answer on the wire: the reply with its headers, or the original
//! bytes to the dead-letter topic with where they came from.

use crate::telemetry::Untrusted;
use rdkafka::Message;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::time::Duration;

use super::command::{Command, Reply};
use super::envelope::{Envelope, Malformed};
use crate::config::KafkaSettings;
use crate::metrics as names;

/// How long a record may wait in the producer's queue before `send` fails.
const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) enum Parsed {
    Command(Command),
    Malformed(Malformed),
}

pub(super) enum Outgoing {
    Reply(Reply),
    DeadLetter(Malformed),
    /// Its reply or dead-letter copy was refused for good (too large, say):
    /// a copy cut to [`TRUNCATED_COPY`] bytes goes to the dead-letter topic.
    Unproducible(&'static str),
    /// Even that was refused: logged, counted, and passed over, so the
    /// partition moves on.
    Skipped,
}

/// How much of a command an `Unproducible` dead-letter copy keeps.
pub(super) const TRUNCATED_COPY: usize = 64 * 1024;

/// Produce errors that no retry can fix: the record itself, or our right to
/// write to the topic, is refused. Anything else (a broker away, a full
/// queue) is worth retrying.
pub(super) fn is_permanent(e: &KafkaError) -> Option<&'static str> {
    let KafkaError::MessageProduction(code) = e else {
        return None;
    };
    Some(match code {
        RDKafkaErrorCode::MessageSizeTooLarge
        | RDKafkaErrorCode::InvalidMessageSize
        | RDKafkaErrorCode::MessageBatchTooLarge => "message_too_large",
        RDKafkaErrorCode::InvalidMessage | RDKafkaErrorCode::InvalidRecord => "invalid_record",
        RDKafkaErrorCode::InvalidTopic => "invalid_topic",
        RDKafkaErrorCode::TopicAuthorizationFailed => "topic_authorization_failed",
        RDKafkaErrorCode::PolicyViolation => "policy_violation",
        _ => return None,
    })
}

/// One polled message and how far it got.
pub(super) struct Item {
    pub(super) msg: OwnedMessage,
    pub(super) parsed: Parsed,
    pub(super) outgoing: Option<Outgoing>,
    pub(super) delivered: bool,
}

impl Item {
    pub(super) fn new(msg: OwnedMessage) -> Self {
        let parsed = match Envelope::parse(msg.payload()) {
            Err(m) => Parsed::Malformed(m),
            Ok(e) => match Command::parse(&e) {
                Ok(c) => Parsed::Command(c),
                Err(m) => {
                    if m == Malformed::UnknownType {
                        tracing::warn!(
                            kind = %Untrusted(&e.kind), correlation_id = %Untrusted(&e.correlation_id),
                            partition = msg.partition(), offset = msg.offset(),
                            "unknown command type"
                        );
                    }
                    Parsed::Malformed(m)
                }
            },
        };
        Self {
            msg,
            parsed,
            outgoing: None,
            delivered: false,
        }
    }
}

/// Produces the item's reply (or dead-letter copy) and waits for the broker's
/// acknowledgement.
pub(super) async fn send(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    item: &Item,
) -> Result<(), KafkaError> {
    let msg = &item.msg;
    let result = match item.outgoing.as_ref().expect("answered before it is sent") {
        Outgoing::Reply(reply) => {
            let headers = OwnedHeaders::new()
                .insert(header("type", reply.kind))
                .insert(header("correlation_id", &reply.correlation_id))
                .insert(header("source", "user-service"))
                .insert(header("content-type", "application/json"));
            let record = FutureRecord::to(&settings.events_topic)
                .key(&reply.correlation_id)
                .payload(&reply.body)
                .headers(headers);
            tracing::debug!(
                correlation_id = %Untrusted(&reply.correlation_id), kind = reply.kind,
                partition = msg.partition(), offset = msg.offset(), "replying"
            );
            producer
                .send(record, Timeout::After(SEND_QUEUE_TIMEOUT))
                .await
        }
        Outgoing::DeadLetter(reason) => {
            tracing::warn!(
                reason = reason.reason(),
                partition = msg.partition(),
                offset = msg.offset(),
                "malformed command sent to the dead-letter topic"
            );
            dead_letter(producer, settings, msg, reason.reason(), false).await
        }
        Outgoing::Unproducible(reason) => {
            tracing::error!(
                reason,
                partition = msg.partition(),
                offset = msg.offset(),
                size = msg.payload().map_or(0, <[u8]>::len),
                "answer refused for good; a truncated copy goes to the dead-letter topic"
            );
            dead_letter(producer, settings, msg, reason, true).await
        }
        Outgoing::Skipped => return Ok(()),
    };
    result.map(|_| ()).map_err(|(e, _)| e)
}

/// The original bytes (cut to [`TRUNCATED_COPY`] when `truncate`), key and
/// headers, to the dead-letter topic with where they came from and why.
async fn dead_letter(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    msg: &OwnedMessage,
    reason: &str,
    truncate: bool,
) -> OwnedDeliveryResult {
    let partition = msg.partition().to_string();
    let offset = msg.offset().to_string();
    let size = msg.payload().map_or(0, <[u8]>::len).to_string();
    // A truncated copy drops the original headers too: they may be what made
    // it too large.
    let mut headers = if truncate {
        OwnedHeaders::new().insert(header("x-dlq-original-size", &size))
    } else {
        msg.headers().cloned().unwrap_or_default()
    };
    headers = headers
        .insert(header("x-dlq-reason", reason))
        .insert(header("x-dlq-source-topic", msg.topic()))
        .insert(header("x-dlq-source-partition", &partition))
        .insert(header("x-dlq-source-offset", &offset));
    let mut record = FutureRecord::<[u8], [u8]>::to(&settings.dlq_topic).headers(headers);
    record.payload = msg.payload().map(|p| {
        if truncate {
            &p[..p.len().min(TRUNCATED_COPY)]
        } else {
            p
        }
    });
    record.key = msg
        .key()
        .map(|k| if truncate { &k[..k.len().min(1024)] } else { k });
    producer
        .send(record, Timeout::After(SEND_QUEUE_TIMEOUT))
        .await
}

/// Counts each message's outcome and its latency from being produced (the
/// record's timestamp) to its answer being acknowledged.
pub(super) fn record_outcomes(items: &[Item]) {
    let now = chrono::Utc::now().timestamp_millis();
    for item in items {
        let outcome = match &item.outgoing {
            Some(Outgoing::Reply(r)) => r.outcome,
            Some(Outgoing::DeadLetter(_) | Outgoing::Unproducible(_)) => "dead_lettered",
            Some(Outgoing::Skipped) => "skipped",
            None => continue,
        };
        metrics::counter!(names::WORKER_MESSAGES, "outcome" => outcome).increment(1);
        if let Some(produced) = item.msg.timestamp().to_millis() {
            metrics::histogram!(names::WORKER_LATENCY)
                .record((now - produced).max(0) as f64 / 1000.0);
        }
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
