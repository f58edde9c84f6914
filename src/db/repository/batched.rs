//! The writes that go through group commit (`db/batch.rs`): ratings and
//! profile syncs, each as one statement for many users and on its own.

use std::collections::HashMap;

use deadpool_postgres::{Client, Pool};

use super::statements::*;
use super::{DbError, Pooler, Upserted, user_from_row};
use crate::config::DatabaseSettings;
use crate::db::Conflict;
use crate::db::batch::{BatchWrite, Batcher, Batches};
use crate::db::sql::{self, Sql};
use crate::domain::{ClerkUserId, Email, PhoneNumber, ProfileUpdate, Rating, RatingKind, Username};

/// The batchers of one repository.
pub(super) struct Writes {
    customer_ratings: Batcher<RatingWrite>,
    runner_ratings: Batcher<RatingWrite>,
    pub profiles: Batcher<ProfileWrite>,
}

impl Writes {
    pub fn new(pool: &Pool, settings: &DatabaseSettings) -> Self {
        // Two batches at a time, shared by all three: one being applied while
        // the next gathers. More made smaller batches and a longer tail
        // (bench/write_path.sh on 2 cores: 4 in flight p99 21-25 ms, 2 in
        // flight 14-19 ms).
        let batches = Batches::new(
            pool.clone(),
            settings.timeout,
            settings.pool_size.clamp(1, 2),
        );
        let pooler = settings.pooler;
        let rating = |one, all| batches.batcher(RatingWrite { one, all, pooler });
        Self {
            customer_ratings: rating(SET_CUSTOMER_RATING, SET_CUSTOMER_RATINGS),
            runner_ratings: rating(SET_RUNNER_RATING, SET_RUNNER_RATINGS),
            profiles: batches.batcher(ProfileWrite { pooler }),
        }
    }

    pub fn ratings(&self, kind: RatingKind) -> &Batcher<RatingWrite> {
        match kind {
            RatingKind::Customer => &self.customer_ratings,
            RatingKind::Runner => &self.runner_ratings,
        }
    }
}

/// `UPDATE … SET <kind>_rating`; answers whether the user exists.
pub(super) struct RatingWrite {
    /// One user's rating, and the batched form.
    one: Sql,
    all: Sql,
    pooler: Pooler,
}

impl BatchWrite for RatingWrite {
    type Item = (ClerkUserId, Rating);
    type Output = bool;
    const NAME: &'static str = "rating";

    fn key(item: &Self::Item) -> &str {
        item.0.as_str()
    }

    async fn apply_all(
        &self,
        client: &Client,
        items: &[&Self::Item],
    ) -> Result<Vec<Option<bool>>, DbError> {
        let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
        let ratings: Vec<f64> = items.iter().map(|(_, r)| r.value()).collect();
        let rows = sql::query(client, self.pooler, &self.all, &[&ids, &ratings]).await?;
        let mut found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        found.sort_unstable();
        Ok(ids
            .iter()
            .map(|id| Some(found.binary_search_by(|f| f.as_str().cmp(id)).is_ok()))
            .collect())
    }

    async fn apply_one(&self, client: &Client, (id, rating): &Self::Item) -> Result<bool, DbError> {
        Ok(sql::execute(
            client,
            self.pooler,
            &self.one,
            &[&id.as_str(), &rating.value()],
        )
        .await?
            > 0)
    }
}

/// Creates the user or updates its profile; answers the row and whether it
/// was created. Batched, only existing users are updated; the others are
/// created one by one.
pub(super) struct ProfileWrite {
    pooler: Pooler,
}

impl BatchWrite for ProfileWrite {
    type Item = ProfileUpdate;
    type Output = Upserted;
    const NAME: &'static str = "profile";

    fn key(item: &Self::Item) -> &str {
        item.clerk_user_id.as_str()
    }

    async fn apply_all(
        &self,
        client: &Client,
        items: &[&Self::Item],
    ) -> Result<Vec<Option<Upserted>>, DbError> {
        let ids: Vec<&str> = items.iter().map(|p| p.clerk_user_id.as_str()).collect();
        let emails: Vec<Option<&str>> = items
            .iter()
            .map(|p| p.email.as_ref().map(Email::as_str))
            .collect();
        let first: Vec<Option<&str>> = items
            .iter()
            .map(|p| p.first_name.as_ref().map(|n| n.as_str()))
            .collect();
        let last: Vec<Option<&str>> = items
            .iter()
            .map(|p| p.last_name.as_ref().map(|n| n.as_str()))
            .collect();
        let phone_set: Vec<bool> = items.iter().map(|p| p.phone_number.is_some()).collect();
        let phone: Vec<Option<&str>> = items
            .iter()
            .map(|p| {
                p.phone_number
                    .as_ref()
                    .and_then(|v| v.as_ref())
                    .map(|v| v.as_str())
            })
            .collect();
        let username_set: Vec<bool> = items.iter().map(|p| p.username.is_some()).collect();
        let username: Vec<Option<&str>> = items
            .iter()
            .map(|p| {
                p.username
                    .as_ref()
                    .and_then(|v| v.as_ref())
                    .map(|v| v.as_str())
            })
            .collect();
        let rows = sql::query(
            client,
            self.pooler,
            &UPDATE_PROFILES,
            &[
                &ids,
                &emails,
                &first,
                &last,
                &phone_set,
                &phone,
                &username_set,
                &username,
            ],
        )
        .await?;
        let mut updated: HashMap<String, _> = rows
            .iter()
            .map(|row| {
                let user = user_from_row(row);
                (user.clerk_user_id.clone(), user)
            })
            .collect();
        Ok(ids
            .iter()
            .map(|id| updated.remove(*id).map(|user| Upserted::Saved(user, false)))
            .collect())
    }

    async fn apply_one(&self, client: &Client, p: &Self::Item) -> Result<Upserted, DbError> {
        match upsert_profile(client, self.pooler, p).await {
            // `ON CONFLICT (clerk_user_id)` arbitrates only the primary key. When two
            // first syncs of one user race, the loser can instead collide with the
            // winner's not-yet-committed row on the email (or username) index. By
            // the time that error is raised the winner has committed, so one retry
            // takes the update path; a real clash with another user fails again.
            Err(DbError::Conflict(Conflict::Email | Conflict::Username)) => {
                upsert_profile(client, self.pooler, p).await
            }
            other => other,
        }
    }
}

async fn upsert_profile(
    client: &Client,
    pooler: Pooler,
    p: &ProfileUpdate,
) -> Result<Upserted, DbError> {
    let (phone_set, phone) = sent(&p.phone_number, PhoneNumber::as_str);
    let (username_set, username) = sent(&p.username, Username::as_str);
    let rows = sql::query(
        client,
        pooler,
        &UPSERT_PROFILE,
        &[
            &p.clerk_user_id.as_str(),
            &p.email.as_ref().map(Email::as_str),
            &p.first_name.as_ref().map(|n| n.as_str()),
            &p.last_name.as_ref().map(|n| n.as_str()),
            &phone_set,
            &phone,
            &username_set,
            &username,
        ],
    )
    .await?;
    if let Some(row) = rows.first() {
        return Ok(Upserted::Saved(user_from_row(row), row.get("inserted")));
    }
    // Nothing written: either a tombstone, or a new user without an email.
    let deleted = sql::query(client, pooler, &IS_DELETED, &[&p.clerk_user_id.as_str()]).await?;
    Ok(if deleted.first().is_some_and(|r| r.get::<_, bool>(0)) {
        Upserted::Deleted
    } else {
        Upserted::NeedsEmail
    })
}

/// A sync's optional field as the statements take it: whether it was sent
/// (absent keeps the stored value), and its value (`None` clears it).
fn sent<T>(field: &Option<Option<T>>, as_str: fn(&T) -> &str) -> (bool, Option<&str>) {
    (
        field.is_some(),
        field.as_ref().and_then(Option::as_ref).map(as_str),
    )
}
