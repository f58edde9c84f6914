//! The one write of the cut-over import (`user-api import-legacy`): a batch of
//! users brought across from the Flask service, upserted in one statement.
//!
//! A legacy row replaces ours only when it is newer (`updated_at`), so the import
//! can run long before the switch and again right at it, and a re-run brings over
//! exactly what changed. Stripe ids are never forgotten: a null in the legacy row
//! keeps an id we already hold.

use tokio_postgres::types::Type;

use super::sql::{self, Sql};
use super::{Conflict, DbError, Repository};
use crate::domain::ImportedUser;

// A user deleted in Clerk (a tombstone in `deleted_users`) is never brought
// back by a re-run: it is left out of the upsert and answered as `deleted`.
pub(super) const UPSERT_IMPORTED: Sql = Sql::new(
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
       $6::text[], $7::float8[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::text[], \
       $13::text[], $14::int2[], $15::int2[], $16::timestamptz[], $17::timestamptz[], \
       $18::timestamptz[]) AS t(id, username, email, first_name, last_name, phone_number, \
       customer_rating, runner_rating, stripe_customer_id, stripe_connect_account_id, \
       card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, \
       card_updated_at, created_at, updated_at)), \
     gone AS (SELECT d.clerk_user_id FROM deleted_users d JOIN v ON d.clerk_user_id = v.id), \
     written AS ( \
     INSERT INTO users AS u (clerk_user_id, username, email, first_name, last_name, \
       phone_number, customer_rating, runner_rating, stripe_customer_id, stripe_connect_account_id, \
       card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at, \
       created_at, updated_at) \
     SELECT * FROM v WHERE v.id NOT IN (SELECT clerk_user_id FROM gone) \
     ON CONFLICT (clerk_user_id) DO UPDATE SET \
       username = EXCLUDED.username, email = EXCLUDED.email, first_name = EXCLUDED.first_name, \
       last_name = EXCLUDED.last_name, phone_number = EXCLUDED.phone_number, \
       customer_rating = EXCLUDED.customer_rating, runner_rating = EXCLUDED.runner_rating, \
       stripe_customer_id = COALESCE(EXCLUDED.stripe_customer_id, u.stripe_customer_id), \
       stripe_connect_account_id = COALESCE(EXCLUDED.stripe_connect_account_id, u.stripe_connect_account_id), \
       card_payment_method_id = EXCLUDED.card_payment_method_id, card_brand = EXCLUDED.card_brand, \
       card_last4 = EXCLUDED.card_last4, card_exp_month = EXCLUDED.card_exp_month, \
       card_exp_year = EXCLUDED.card_exp_year, card_updated_at = EXCLUDED.card_updated_at, \
       created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at \
     WHERE u.updated_at < EXCLUDED.updated_at \
     RETURNING clerk_user_id, (xmax = 0) AS inserted) \
     SELECT clerk_user_id, inserted, false AS deleted FROM written \
     UNION ALL SELECT clerk_user_id, false, true FROM gone",
    &[
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::INT2_ARRAY,
        Type::INT2_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
    ],
);

/// What an imported row did to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    Inserted,
    Updated,
    /// Ours is as new as the legacy row, or newer: left as it is.
    Unchanged,
    /// Its email or username belongs to another user of ours.
    Conflict(Conflict),
    /// Deleted in Clerk since (a tombstone): not brought back.
    Deleted,
}

impl Repository {
    /// Upserts `users` (one statement for the batch). When one of them clashes
    /// with a user of ours on email or username, the batch is retried row by
    /// row so the others still land; the outcomes are in `users`' order.
    pub async fn import_users(&self, users: &[ImportedUser]) -> Result<Vec<Imported>, DbError> {
        match self.upsert_imported(users).await {
            Err(DbError::Conflict(_)) if users.len() > 1 => {
                let mut outcomes = Vec::with_capacity(users.len());
                for user in users {
                    outcomes.push(
                        match self.upsert_imported(std::slice::from_ref(user)).await {
                            Ok(mut one) => one.remove(0),
                            Err(DbError::Conflict(c)) => Imported::Conflict(c),
                            Err(e) => return Err(e),
                        },
                    );
                }
                Ok(outcomes)
            }
            Err(DbError::Conflict(c)) => Ok(vec![Imported::Conflict(c)]),
            other => other,
        }
    }

    async fn upsert_imported(&self, users: &[ImportedUser]) -> Result<Vec<Imported>, DbError> {
        let column = |f: fn(&ImportedUser) -> Option<&str>| users.iter().map(f).collect::<Vec<_>>();
        let ids = column(|u| Some(u.clerk_user_id.as_str()));
        let usernames = column(|u| u.username.as_ref().map(|v| v.as_str()));
        let emails = column(|u| Some(u.email.as_str()));
        let first = column(|u| Some(u.first_name.as_str()));
        let last = column(|u| Some(u.last_name.as_str()));
        let phones = column(|u| u.phone_number.as_ref().map(|v| v.as_str()));
        let customers = column(|u| u.stripe_customer_id.as_deref());
        let accounts = column(|u| u.stripe_connect_account_id.as_ref().map(|v| v.as_str()));
        let pms = column(|u| u.card.as_ref().map(|(c, _)| c.payment_method_id().as_str()));
        let brands = column(|u| u.card.as_ref().map(|(c, _)| c.brand()));
        let last4s = column(|u| u.card.as_ref().map(|(c, _)| c.last4()));
        let ratings = |f: fn(&ImportedUser) -> f64| users.iter().map(f).collect::<Vec<_>>();
        let customer_ratings = ratings(|u| u.customer_rating.value());
        let runner_ratings = ratings(|u| u.runner_rating.value());
        let months: Vec<Option<i16>> = users
            .iter()
            .map(|u| u.card.as_ref().map(|(c, _)| c.exp_month()))
            .collect();
        let years: Vec<Option<i16>> = users
            .iter()
            .map(|u| u.card.as_ref().map(|(c, _)| c.exp_year()))
            .collect();
        let card_at: Vec<_> = users
            .iter()
            .map(|u| u.card.as_ref().map(|(_, at)| *at))
            .collect();
        let created: Vec<_> = users.iter().map(|u| u.created_at).collect();
        let updated: Vec<_> = users.iter().map(|u| u.updated_at).collect();

        let client = self.pool().get().await?;
        let rows = sql::query(
            &client,
            self.pooler(),
            &UPSERT_IMPORTED,
            &[
                &ids,
                &usernames,
                &emails,
                &first,
                &last,
                &phones,
                &customer_ratings,
                &runner_ratings,
                &customers,
                &accounts,
                &pms,
                &brands,
                &last4s,
                &months,
                &years,
                &card_at,
                &created,
                &updated,
            ],
        )
        .await?;
        let written: std::collections::HashMap<String, Imported> = rows
            .iter()
            .map(|r| {
                let outcome = match (r.get::<_, bool>(1), r.get::<_, bool>(2)) {
                    (_, true) => Imported::Deleted,
                    (true, false) => Imported::Inserted,
                    (false, false) => Imported::Updated,
                };
                (r.get::<_, String>(0), outcome)
            })
            .collect();
        Ok(ids
            .iter()
            .map(|id| {
                id.and_then(|id| written.get(id).copied())
                    .unwrap_or(Imported::Unchanged)
            })
            .collect())
    }
}
