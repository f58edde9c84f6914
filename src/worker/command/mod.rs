//! The commands the worker answers, as in tokio's mini-redis: one file per
//! command (its type string, `parse` from the envelope, `apply` for a batch,
//! its reply), and this file, which names each command once — one enum arm,
//! one `parse` arm, one `apply` line. The at-least-once loop, the outgoing
//! path and the envelope never name a command.
//!
//! Adding a command (docs/architecture.md, "Adding a Kafka command"): its
//! file here, its arm in [`Command`] and in the two functions below, the
//! service call it needs, and its test.

pub mod get_payment_info;

use chrono::{DateTime, Utc};

use super::envelope::{Envelope, Malformed};
use crate::service::{ServiceError, UserService};
use get_payment_info::GetPaymentInfo;

/// A parsed command, ready to be answered.
#[derive(Debug, Clone)]
pub enum Command {
    GetPaymentInfo(GetPaymentInfo),
}

impl Command {
    /// The command the envelope's `type` names, parsed by its own file;
    /// [`Malformed::UnknownType`] for any other type.
    pub fn parse(envelope: &Envelope) -> Result<Self, Malformed> {
        match envelope.kind.as_str() {
            get_payment_info::TYPE => GetPaymentInfo::parse(envelope).map(Self::GetPaymentInfo),
            _ => Err(Malformed::UnknownType),
        }
    }
}

/// One reply, ready to be produced on the events topic.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The reply's `type` (also its `type` header).
    pub kind: &'static str,
    /// How the command ended, the `outcome` label of `worker_messages_total`.
    pub outcome: &'static str,
    pub correlation_id: String,
    pub body: Vec<u8>,
}

/// Answers the commands of one variant with its batch `apply`, and puts each
/// reply at its command's position.
macro_rules! answer_each {
    ($variant:path, $apply:path, $service:expr, $commands:expr, $now:expr, $replies:expr) => {{
        #[allow(irrefutable_let_patterns)]
        let (at, batch): (Vec<usize>, Vec<_>) = $commands
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                if let $variant(command) = c {
                    Some((i, command))
                } else {
                    None
                }
            })
            .unzip();
        if !batch.is_empty() {
            for (i, reply) in at.into_iter().zip($apply($service, &batch, $now).await?) {
                $replies[i] = Some(reply);
            }
        }
    }};
}

/// Answers a batch: each kind of command once, with all of its commands (one
/// use-case call, one database query, per kind). Replies come back in the
/// order of `commands`. A use-case failure answers nothing: the loop retries
/// the whole batch later (never a "failed" reply for a database blip).
pub async fn apply(
    service: &UserService,
    commands: &[&Command],
    now: DateTime<Utc>,
) -> Result<Vec<Reply>, ServiceError> {
    let mut replies: Vec<Option<Reply>> = commands.iter().map(|_| None).collect();
    answer_each!(
        Command::GetPaymentInfo,
        get_payment_info::apply,
        service,
        commands,
        now,
        replies
    );
    Ok(replies
        .into_iter()
        .map(|r| r.expect("every command has a kind that answers it"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_picks_the_command_and_its_own_parse_decides() {
        let parse = |json: &str| Command::parse(&Envelope::parse(Some(json.as_bytes())).unwrap());
        assert!(matches!(
            parse(r#"{"type":"get_payment_info","correlation_id":"c","payload":{"user_id":"u"}}"#),
            Ok(Command::GetPaymentInfo(_))
        ));
        assert_eq!(
            parse(r#"{"type":"get_everything","correlation_id":"c"}"#).unwrap_err(),
            Malformed::UnknownType
        );
        assert_eq!(
            parse(r#"{"type":"get_payment_info","correlation_id":"c"}"#)
                .unwrap_err()
                .reason(),
            "missing_user_id",
            "the command's own reason reaches the dead-letter header"
        );
    }
}
