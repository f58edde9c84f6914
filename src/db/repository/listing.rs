//! Reads of many rows (user ids, the worker's payment references) and the
//! record of applied webhook deliveries.

use super::statements::*;
use super::*;

impl Repository {
    /// Whether a webhook delivery was already applied.
    pub async fn delivery_seen(&self, source: &str, delivery_id: &str) -> Result<bool, DbError> {
        Ok(self
            .query_opt(DELIVERY_SEEN, &[&source, &delivery_id])
            .await?
            .is_some())
    }

    /// Records an applied webhook delivery.
    pub async fn record_delivery(&self, source: &str, delivery_id: &str) -> Result<(), DbError> {
        self.execute(RECORD_DELIVERY, &[&source, &delivery_id])
            .await
            .map(drop)
    }

    /// One page of ids after `after` (exclusive), in id order.
    pub async fn user_ids_page(
        &self,
        after: Option<&ClerkUserId>,
        limit: i64,
    ) -> Result<Vec<String>, DbError> {
        let after = after.map_or("", |a| a.as_str());
        let rows = self.query(USER_IDS_PAGE, &[&after, &limit]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Every id after `after` (exclusive), in id order, streamed from the server so
    /// that memory stays flat however many users there are. The deadline covers
    /// starting the query; the stream then runs as fast as its reader takes rows.
    pub async fn stream_user_ids(
        &self,
        after: Option<&ClerkUserId>,
    ) -> Result<UserIdStream, DbError> {
        let after = after.map_or(String::new(), |a| a.as_str().to_owned());
        self.deadline(async move {
            let client = self.pool.get().await?;
            let rows = sql::query_stream(&client, self.pooler, &USER_IDS_ALL, &[&after]).await?;
            // The closure owns the pooled connection: it goes back to the pool only
            // when the stream is dropped.
            let stream = rows.map(move |row| {
                let _connection = &client;
                row.map(|r| r.get::<_, String>(0)).map_err(DbError::from)
            });
            Ok(Box::pin(stream) as UserIdStream)
        })
        .await
    }

    /// The payment references of many users in one query (the worker's batches).
    /// Ids without a row are simply absent from the result.
    pub async fn payment_refs(&self, ids: &[ClerkUserId]) -> Result<Vec<PaymentRef>, DbError> {
        let ids: Vec<&str> = ids.iter().map(ClerkUserId::as_str).collect();
        let rows = self.query(PAYMENT_REFS, &[&ids]).await?;
        Ok(rows
            .iter()
            .map(|r| PaymentRef {
                clerk_user_id: r.get(0),
                stripe_customer_id: r.get(1),
                default_payment_method_id: r.get(2),
            })
            .collect())
    }
}
