//! Share links: a read-only view of one execution's result for people without the
//! server's token. Only a hash of each link's secret is stored, so the store (or a copy
//! of it) never holds a working link.

use super::{get, Store};
use crate::error::Result;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Share {
    pub id: String,
    pub execution_id: String,
    pub create_time: String,
    pub expire_time: String,
}

fn from_row(row: &AnyRow) -> Share {
    Share {
        id: get(row, "id"),
        execution_id: get(row, "execution_id"),
        create_time: get(row, "create_time"),
        expire_time: get(row, "expire_time"),
    }
}

impl Store {
    pub async fn insert_share(&self, share: &Share, token_hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO shares (id, execution_id, token_hash, create_time, expire_time) VALUES ($1, $2, $3, $4, $5)")
            .bind(&share.id)
            .bind(&share.execution_id)
            .bind(token_hash)
            .bind(&share.create_time)
            .bind(&share.expire_time)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The execution's links that have not expired at `now`, newest first.
    pub async fn list_shares(&self, execution_id: &str, now: &str) -> Result<Vec<Share>> {
        let rows = sqlx::query(
            "SELECT id, execution_id, create_time, expire_time FROM shares WHERE execution_id = $1 AND expire_time > $2 \
             ORDER BY create_time DESC",
        )
        .bind(execution_id)
        .bind(now)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Revokes a link; false when the execution has no such link.
    pub async fn delete_share(&self, execution_id: &str, share_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM shares WHERE id = $1 AND execution_id = $2")
            .bind(share_id)
            .bind(execution_id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    /// The execution a live link (by its secret's hash) shows, if any.
    pub async fn shared_execution_id(&self, token_hash: &str, now: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT execution_id FROM shares WHERE token_hash = $1 AND expire_time > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err(e))
    }

    /// Expired links are kept until here (so a listing never shows them): called when
    /// links are made.
    pub async fn delete_expired_shares(&self, now: &str) -> Result<()> {
        sqlx::query("DELETE FROM shares WHERE expire_time <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
