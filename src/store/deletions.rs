//! Tombstones of deleted executions and schedules, so that the change feed (the server's
//! live updates) also tells of deletions made by other processes. Kept a day.

use super::{now_text, time_text_ago, Store};
use crate::error::Result;

const KEEP: std::time::Duration = std::time::Duration::from_secs(86_400);

impl Store {
    /// In the deleting transaction: the tombstone, and old ones pruned.
    pub(crate) async fn record_deletion(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        kind: &str,
        id: &str,
    ) -> Result<()> {
        let now = now_text();
        let horizon = time_text_ago(KEEP);
        sqlx::query("DELETE FROM deletions WHERE delete_time < $1")
            .bind(&horizon)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err(e))?;
        sqlx::query("INSERT INTO deletions (kind, id, delete_time) VALUES ($1, $2, $3)")
            .bind(kind)
            .bind(id)
            .bind(&now)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// (kind, id, delete_time) of the deletions at or after `since`, oldest first.
    pub async fn deletions_since(
        &self,
        since: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT kind, id, delete_time FROM deletions WHERE delete_time >= $1 ORDER BY delete_time LIMIT {limit}"
        )))
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err(e))
    }
}
