//! Profiles: creating, updating and deleting users, ratings, the payout account.

use super::statements::*;
use super::*;

impl Repository {
    pub async fn insert_temp_user(&self, user: &NewTempUser) -> Result<User, DbError> {
        let row = self
            .query_opt(
                INSERT_TEMP_USER,
                &[
                    &user.clerk_user_id.as_str(),
                    &user.email.as_str(),
                    &user.first_name.as_str(),
                    &user.last_name.as_str(),
                ],
            )
            .await?;
        Ok(user_from_row(
            &row.expect("INSERT … RETURNING yields the row"),
        ))
    }

    /// Creates the user or updates its profile fields; `true` when it was created.
    pub async fn upsert_profile(&self, p: &ProfileUpdate) -> Result<(User, bool), DbError> {
        match self.upsert_profile_once(p).await {
            // `ON CONFLICT (clerk_user_id)` arbitrates only the primary key. When two
            // first syncs of one user race, the loser can instead collide with the
            // winner's not-yet-committed row on the email (or username) index. By
            // the time that error is raised the winner has committed, so one retry
            // takes the update path; a real clash with another user fails again.
            Err(DbError::Conflict(Conflict::Email | Conflict::Username)) => {
                self.upsert_profile_once(p).await
            }
            other => other,
        }
    }

    async fn upsert_profile_once(&self, p: &ProfileUpdate) -> Result<(User, bool), DbError> {
        let phone = p.phone_number.as_ref();
        let username = p.username.as_ref();
        let row = self
            .query_opt(
                UPSERT_PROFILE,
                &[
                    &p.clerk_user_id.as_str(),
                    &p.email.as_str(),
                    &p.first_name.as_ref().map(|n| n.as_str()),
                    &p.last_name.as_ref().map(|n| n.as_str()),
                    &phone.is_some(),
                    &phone.and_then(|v| v.as_ref()).map(|v| v.as_str()),
                    &username.is_some(),
                    &username.and_then(|v| v.as_ref()).map(|v| v.as_str()),
                ],
            )
            .await?
            .expect("an upsert … RETURNING yields the row");
        Ok((user_from_row(&row), row.get("inserted")))
    }

    /// `false` when there is no such user.
    pub async fn set_rating(
        &self,
        id: &ClerkUserId,
        kind: RatingKind,
        rating: Rating,
    ) -> Result<bool, DbError> {
        let sql = match kind {
            RatingKind::Customer => SET_CUSTOMER_RATING,
            RatingKind::Runner => SET_RUNNER_RATING,
        };
        self.execute(sql, &[&id.as_str(), &rating.value()]).await
    }

    /// `false` when there is no such user.
    pub async fn set_connect_account(
        &self,
        id: &ClerkUserId,
        account: &ConnectAccountId,
    ) -> Result<bool, DbError> {
        self.execute(SET_CONNECT_ACCOUNT, &[&id.as_str(), &account.as_str()])
            .await
    }

    /// When this user was deleted (their tombstone) and when the last Clerk
    /// event applied to them happened, either `None`.
    pub async fn clerk_event_state(&self, id: &ClerkUserId) -> Result<ClerkEventState, DbError> {
        let row = self
            .query_opt(CLERK_EVENT_STATE, &[&id.as_str()])
            .await?
            .expect("a SELECT without FROM yields one row");
        Ok(ClerkEventState {
            deleted_at: row.get(0),
            last_event_at: row.get(1),
        })
    }

    /// Records that a Clerk event of `at` was applied (never moves back).
    pub async fn stamp_clerk_event(
        &self,
        id: &ClerkUserId,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.execute(STAMP_CLERK_EVENT, &[&id.as_str(), &at])
            .await
            .map(drop)
    }

    /// Deletes the user and leaves a tombstone dated `at`.
    pub async fn delete_user_at(&self, id: &ClerkUserId, at: DateTime<Utc>) -> Result<(), DbError> {
        self.execute(DELETE_WITH_TOMBSTONE, &[&id.as_str(), &at])
            .await
            .map(drop)
    }
}
