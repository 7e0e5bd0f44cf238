//! What the server shows of executions: result pages (the page a run wrote, or the
//! notebook as far as it got), share links, and the change feed behind live updates.

use super::{output_of, Service};
use crate::error::{Error, Failure, Result};
use crate::model::{Execution, Schedule};
use crate::render::{render_html, with_owner_links};
use crate::storage::{self, Location};
use crate::store::{now_text, time_text_in, Share};
use std::time::Duration;

/// Changes since a point of the feed.
pub struct Changes {
    pub executions: Vec<Execution>,
    pub schedules: Vec<Schedule>,
    /// Deletions since then, any process's: kind ("execution" or "schedule"), id, time.
    pub deletions: Vec<Deletion>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Deletion {
    pub kind: String,
    pub id: String,
    pub delete_time: String,
}

impl Service {
    /// The result page: the one the run wrote when it has ended; else (running, queued,
    /// or no page) the notebook as far as it got, rendered now. `owner_links`: the links
    /// only the owner's route can serve (download, import); not on a share link's page.
    pub async fn result_html(&self, id: &str, owner_links: bool) -> Result<String> {
        let execution = self.store.get_execution(id).await?;
        let page = self.result_page(&execution).await?;
        Ok(if owner_links {
            with_owner_links(&page, id)
        } else {
            page
        })
    }

    async fn result_page(&self, execution: &Execution) -> Result<String> {
        let id = &execution.id;
        if execution.state.is_terminal() {
            if let Ok(page) = Location::parse(&execution.output_html_uri) {
                match storage::read(&page).await {
                    Ok(bytes) => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(Error::Resource {
                        failure: Failure::NotFound,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut notebook = None;
        for source in [
            output_of(execution)?,
            Location::Local(self.staged_input(id)),
        ] {
            match storage::read_notebook(&source).await {
                Ok(nb) => {
                    notebook = Some(nb);
                    break;
                }
                Err(Error::Resource {
                    failure: Failure::NotFound,
                    ..
                }) => continue,
                Err(e) => return Err(e),
            }
        }
        let Some(notebook) = notebook else {
            return Err(Error::NotFound {
                kind: "result of execution",
                id: id.to_owned(),
            });
        };
        // Rendering is CPU work: the other worker takes this one's tasks meanwhile.
        Ok(tokio::task::block_in_place(|| {
            render_html(&notebook, execution)
        }))
    }

    /// A link to the execution's result, valid for `lifetime`. The caller keeps the secret
    /// and gives its hash.
    pub async fn create_share(
        &self,
        execution_id: &str,
        token_hash: &str,
        lifetime: Duration,
    ) -> Result<Share> {
        self.store.get_execution(execution_id).await?;
        let now = now_text();
        self.store.delete_expired_shares(&now).await?;
        let share = Share {
            id: uuid::Uuid::new_v4().simple().to_string(),
            execution_id: execution_id.to_owned(),
            create_time: now,
            expire_time: time_text_in(lifetime),
        };
        self.store.insert_share(&share, token_hash).await?;
        Ok(share)
    }

    /// The execution's live links.
    pub async fn list_shares(&self, execution_id: &str) -> Result<Vec<Share>> {
        self.store.get_execution(execution_id).await?;
        self.store.list_shares(execution_id, &now_text()).await
    }

    pub async fn revoke_share(&self, execution_id: &str, share_id: &str) -> Result<()> {
        if self.store.delete_share(execution_id, share_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "share",
                id: share_id.to_owned(),
            })
        }
    }

    /// The execution a live link shows; NotFound for a revoked, expired or unknown link.
    pub async fn shared_execution(&self, token_hash: &str) -> Result<Execution> {
        let gone = || Error::NotFound {
            kind: "share",
            id: String::new(),
        };
        let id = self
            .store
            .shared_execution_id(token_hash, &now_text())
            .await?
            .ok_or_else(gone)?;
        self.store.get_execution(&id).await.map_err(|_| gone())
    }

    /// Executions and schedules written (and deleted) at or after `since` (RFC 3339), at
    /// most `limit` of each, oldest first, with the schedules of changed executions (their
    /// latest result).
    pub async fn changes_since(&self, since: &str, limit: i64) -> Result<Changes> {
        let executions = self.store.executions_changed_since(since, limit).await?;
        let mut schedules = self.store.schedules_changed_since(since, limit).await?;
        let mut extra: Vec<&str> = executions
            .iter()
            .filter_map(|e| e.spec.schedule_id.as_deref())
            .collect();
        extra.sort_unstable();
        extra.dedup();
        for id in extra {
            if schedules.iter().any(|s| s.id == id) {
                continue;
            }
            match self.store.get_schedule(id).await {
                Ok(schedule) => schedules.push(schedule),
                Err(Error::NotFound { .. }) => {} // deleted: its executions stay
                Err(e) => return Err(e),
            }
        }
        let deletions = self.store.deletions_since(since, limit).await?;
        let deletions = deletions
            .into_iter()
            .map(|(kind, id, delete_time)| Deletion {
                kind,
                id,
                delete_time,
            })
            .collect();
        Ok(Changes {
            executions,
            schedules,
            deletions,
        })
    }
}
