//! The Vertex AI REST v1 calls we make on `projects.locations.customJobs` (create, get,
//! list, cancel), with serde types of the fields we use: the official aiplatform crate is
//! too heavy to build here. In Google's JSON, int64 fields travel as strings
//! (`replicaCount`) and durations as `"3600s"`; int32 ones as numbers.

use crate::error::{Error, Failure, Result};
use crate::google;
use crate::google::decode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomJob {
    /// Output only: `projects/{project}/locations/{region}/customJobs/{id}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub display_name: String,
    pub job_spec: JobSpec,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub state: String,
    #[serde(default, skip_serializing)]
    pub error: Option<Status>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub worker_pool_specs: Vec<WorkerPoolSpec>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPoolSpec {
    pub machine_spec: MachineSpec,
    /// int64: a string.
    pub replica_count: String,
    pub disk_spec: DiskSpec,
    pub container_spec: ContainerSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineSpec {
    pub machine_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub accelerator_type: String,
    /// int32: a number.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub accelerator_count: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSpec {
    pub boot_disk_type: String,
    pub boot_disk_size_gb: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    pub image_uri: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scheduling {
    /// A duration: `"3600s"`.
    pub timeout: String,
}

/// google.rpc.Status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub code: i32,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    custom_jobs: Vec<CustomJob>,
    #[serde(default)]
    next_page_token: String,
}

/// Calls the API of one project.
pub struct Client {
    /// `https://{region}-aiplatform.googleapis.com`, or the configured endpoint (`{region}`
    /// in it is replaced).
    pub endpoint: String,
    pub project: String,
}

impl Client {
    fn base(&self, region: &str) -> String {
        let endpoint = if self.endpoint.is_empty() {
            "https://{region}-aiplatform.googleapis.com"
        } else {
            &self.endpoint
        };
        endpoint.trim_end_matches('/').replace("{region}", region)
    }

    fn jobs_url(&self, region: &str) -> String {
        format!(
            "{}/v1/projects/{}/locations/{region}/customJobs",
            self.base(region),
            self.project
        )
    }

    async fn call(
        &self,
        what: &str,
        make: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let token = google::bearer_token().await?;
        let response = google::send(what, || Ok(make(&token))).await?;
        google::check(what, response).await.map_err(|e| match e {
            Error::Resource {
                resource,
                failure: failure @ (Failure::Unauthenticated | Failure::PermissionDenied),
                message,
            } => Error::Resource {
                resource,
                failure,
                message: format!("Vertex AI refused the request: {message}"),
            },
            other => other,
        })
    }

    pub async fn create(&self, region: &str, job: &CustomJob) -> Result<CustomJob> {
        let url = self.jobs_url(region);
        let response = self
            .call("Vertex AI custom job creation", |token| {
                google::http().post(&url).bearer_auth(token).json(job)
            })
            .await?;
        decode(response).await
    }

    pub async fn get(&self, name: &str) -> Result<CustomJob> {
        let url = format!("{}/v1/{name}", self.base(region_of(name)));
        let response = self
            .call(name, |token| google::http().get(&url).bearer_auth(token))
            .await?;
        decode(response).await
    }

    /// Every job of the region that `filter` selects (all pages).
    pub async fn list(&self, region: &str, filter: &str) -> Result<Vec<CustomJob>> {
        let url = self.jobs_url(region);
        let what = format!("Vertex AI custom jobs in {region}");
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let response = self
                .call(&what, |token| {
                    let mut query = vec![("filter", filter), ("pageSize", "1000")];
                    if !page_token.is_empty() {
                        query.push(("pageToken", &page_token));
                    }
                    google::http().get(&url).bearer_auth(token).query(&query)
                })
                .await?;
            let page: ListResponse = decode(response).await?;
            out.extend(page.custom_jobs);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    pub async fn cancel(&self, name: &str) -> Result<()> {
        let url = format!("{}/v1/{name}:cancel", self.base(region_of(name)));
        self.call(name, |token| {
            google::http()
                .post(&url)
                .bearer_auth(token)
                .json(&serde_json::json!({}))
        })
        .await
        .map(drop)
    }
}

/// The region of a job's resource name (`projects/p/locations/{region}/customJobs/id`).
pub fn region_of(name: &str) -> &str {
    name.split('/').nth(3).unwrap_or("")
}
