//! One polled command and how far it got (parsed, answered, delivered):
//! answering a batch, and putting its answers on the wire — the reply with its
//! headers, or the original bytes to the dead-letter topic with where they
//! came from.

use crate::telemetry::Untrusted;
use rdkafka::Message;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::future::Future;
use std::pin::Pin;

use super::command::{self, Command, Reply};
use super::envelope::{Envelope, Malformed};
use crate::config::KafkaSettings;
use crate::metrics as names;
use crate::service::{ServiceError, UserService};

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

/// Answers every message of the batch that has no answer yet: malformed ones
/// with their dead-letter copy, commands with one use-case call.
pub(super) async fn answer(service: &UserService, items: &mut [Item]) -> Result<(), ServiceError> {
    for item in items.iter_mut().filter(|i| i.outgoing.is_none()) {
        if let Parsed::Malformed(m) = item.parsed {
            item.outgoing = Some(Outgoing::DeadLetter(m));
        }
    }
    let (positions, commands): (Vec<usize>, Vec<&Command>) = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match (&item.outgoing, &item.parsed) {
            (None, Parsed::Command(c)) => Some((i, c)),
            _ => None,
        })
        .unzip();
    if !commands.is_empty() {
        let replies = command::apply(service, &commands, chrono::Utc::now()).await?;
        for (i, reply) in positions.into_iter().zip(replies) {
            items[i].outgoing = Some(Outgoing::Reply(reply));
        }
    }
    Ok(())
}

/// A batch whose answers are with the producer: resolves, with the batch,
/// once the broker has acknowledged or refused every one of them.
pub(super) type Acks = Pin<Box<dyn Future<Output = (Vec<Item>, Result<(), KafkaError>)> + Send>>;

/// Hands every undelivered answer of the batch to the producer now — so
/// batches reach the broker in the order they were polled, however many await
/// their acknowledgements — and returns what waits for those.
pub(super) fn deliver(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    items: Vec<Item>,
) -> Acks {
    let queued: Vec<(usize, Result<Option<DeliveryFuture>, KafkaError>)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.delivered)
        .map(|(i, item)| (i, enqueue(producer, settings, item)))
        .collect();
    Box::pin(acknowledged(items, queued))
}

async fn acknowledged(
    mut items: Vec<Item>,
    queued: Vec<(usize, Result<Option<DeliveryFuture>, KafkaError>)>,
) -> (Vec<Item>, Result<(), KafkaError>) {
    let mut first_error = None;
    for (i, queued) in queued {
        let result = match queued {
            Ok(None) => Ok(()),
            Ok(Some(delivery)) => match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((e, _))) => Err(e),
                // The producer is gone (shutting down): not delivered.
                Err(_) => Err(KafkaError::Canceled),
            },
            Err(e) => Err(e),
        };
        let Err(e) = result else {
            items[i].delivered = true;
            continue;
        };
        // Refused for good: retrying would block the partition for ever (and
        // again after a restart). Dead-letter a truncated copy instead, or, if
        // even that is refused, pass it over.
        if let Some(reason) = is_permanent(&e) {
            let item = &mut items[i];
            item.outgoing = Some(match item.outgoing {
                Some(Outgoing::Unproducible(_)) => {
                    tracing::error!(
                        reason,
                        partition = item.msg.partition(),
                        offset = item.msg.offset(),
                        "even a truncated dead-letter copy was refused; skipping the message"
                    );
                    Outgoing::Skipped
                }
                _ => Outgoing::Unproducible(reason),
            });
        }
        first_error.get_or_insert(e);
    }
    (items, first_error.map_or(Ok(()), Err))
}

/// Puts the item's reply (or dead-letter copy) in the producer's queue;
/// `None` when there is nothing to send.
fn enqueue(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    item: &Item,
) -> Result<Option<DeliveryFuture>, KafkaError> {
    let msg = &item.msg;
    let queued = match item.outgoing.as_ref().expect("answered before it is sent") {
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
            producer.send_result(record).map_err(|(e, _)| e)
        }
        Outgoing::DeadLetter(reason) => {
            tracing::warn!(
                reason = reason.reason(),
                partition = msg.partition(),
                offset = msg.offset(),
                "malformed command sent to the dead-letter topic"
            );
            dead_letter(producer, settings, msg, reason.reason(), false)
        }
        Outgoing::Unproducible(reason) => {
            tracing::error!(
                reason,
                partition = msg.partition(),
                offset = msg.offset(),
                size = msg.payload().map_or(0, <[u8]>::len),
                "answer refused for good; a truncated copy goes to the dead-letter topic"
            );
            dead_letter(producer, settings, msg, reason, true)
        }
        Outgoing::Skipped => return Ok(None),
    };
    queued.map(Some)
}

/// The original bytes (cut to [`TRUNCATED_COPY`] when `truncate`), key and
/// headers, to the dead-letter topic with where they came from and why.
fn dead_letter(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    msg: &OwnedMessage,
    reason: &str,
    truncate: bool,
) -> Result<DeliveryFuture, KafkaError> {
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
    producer.send_result(record).map_err(|(e, _)| e)
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
