//! Profiles: creating, updating and deleting users, ratings, the payout account.

use super::statements::*;
use super::*;
use crate::domain::{PhoneNumber, Username};

impl Repository {
    /// A temporary user's id is a fresh `temp_<uuid>`, which no Clerk user
    /// (and so no tombstone) can have: no tombstone check is needed.
    pub async fn insert_temp_user(&self, user: &NewTempUser) -> Result<User, DbError> {
        let row = self
            .query_opt(
                INSERT_TEMP_USER,
                &[
                    &user.clerk_user_id.as_str(),
                    &user.email.as_str(),
                    &user.first_name.as_str(),
                    &user.last_name.as_str(),
                    &user.phone_number.as_ref().map(PhoneNumber::as_str),
                    &user.username.as_ref().map(Username::as_str),
                ],
            )
            .await?;
        Ok(user_from_row(
            &row.expect("INSERT … RETURNING yields the row"),
        ))
    }

    /// Creates the user or updates its profile fields. Batched with concurrent
    /// syncs (`db/batch.rs`).
    pub async fn upsert_profile(&self, p: &ProfileUpdate) -> Result<Upserted, DbError> {
        self.deadline(self.writes.profiles.apply(p.clone())).await
    }

    /// `false` when there is no such user. Batched with concurrent ratings.
    pub async fn set_rating(
        &self,
        id: &ClerkUserId,
        kind: RatingKind,
        rating: Rating,
    ) -> Result<bool, DbError> {
        self.deadline(self.writes.ratings(kind).apply((id.clone(), rating)))
            .await
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
