//! Bucket access: granting a person (or group, service account, domain) read access to a
//! whole bucket through its IAM policy (the JSON API's `GET`/`PUT /storage/v1/b/{bucket}/iam`).
//!
//! The policy is read and written back whole (unknown fields, other bindings and their
//! conditions kept as they are), with the `etag` it was read with: a change made by
//! someone else in between makes the write fail (412) instead of being lost, and the
//! grant is done again on the new policy.

use super::gcs::{segment, Call};
use crate::error::{Error, Failure, Result};
use crate::google;
use serde_json::Value;

pub const OBJECT_VIEWER: &str = "roles/storage.objectViewer";

/// What granting the role means, said with every grant.
pub const WARNING: &str =
    "Granting this role lets the person read every object in the bucket, not only this result.";

/// Reads and writes of a policy that keeps changing under us, before giving up.
const ATTEMPTS: usize = 3;

/// What a grant did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Grant {
    pub bucket: String,
    pub member: String,
    pub role: String,
    /// False when the member already had the role (nothing was written).
    pub changed: bool,
    pub warning: String,
}

/// An IAM member from what a person types: an email means `user:EMAIL`; `user:`, `group:`,
/// `serviceAccount:` (emails) and `domain:` (a domain name) are taken as they are. Anyone
/// on the internet (`allUsers`, `allAuthenticatedUsers`) and the other forms are refused.
pub fn member_of(text: &str) -> Result<String> {
    let text = text.trim();
    let (kind, id) = text.split_once(':').unwrap_or(("user", text));
    let ok = match kind {
        "user" | "group" | "serviceAccount" => is_email(id),
        "domain" => is_domain(id),
        _ => false,
    };
    if ok {
        Ok(format!("{kind}:{id}"))
    } else {
        Err(Error::invalid(
            "member",
            format!(
                "{text:?} is not a member to grant access to: give an email address, or user:EMAIL, \
                 group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN"
            ),
        ))
    }
}

fn is_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local
                    .chars()
                    .any(|c| c.is_whitespace() || "@:,;<>()[]\\\"".contains(c))
                && is_domain(domain)
        }
        None => false,
    }
}

/// Grants `member` (see `member_of`) `roles/storage.objectViewer` on `bucket`. A member
/// who already has it (unconditionally) changes nothing.
pub async fn grant_object_viewer(bucket: &str, member: &str) -> Result<Grant> {
    let member = member_of(member)?;
    let call = Call::new().await?;
    let url = format!("{}/storage/v1/b/{}/iam", call.base, segment(bucket));
    let what = format!("gs://{bucket}");
    let grant = |changed| Grant {
        bucket: bucket.to_owned(),
        member: member.clone(),
        role: OBJECT_VIEWER.to_owned(),
        changed,
        warning: WARNING.to_owned(),
    };
    for _ in 0..ATTEMPTS {
        // Version 3, so that conditional bindings come whole and go back whole.
        let response = google::send(&what, || {
            Ok(call
                .request(reqwest::Method::GET, &url)
                .query(&[("optionsRequestedPolicyVersion", "3")]))
        })
        .await?;
        let response = checked(bucket, "read", response).await?;
        let mut policy: Value = response
            .json()
            .await
            .map_err(|e| Error::resource(&what, Failure::Unavailable, e.to_string()))?;
        if !add_member(&mut policy, OBJECT_VIEWER, &member)? {
            return Ok(grant(false));
        }
        let response = google::send(&what, || {
            Ok(call.request(reqwest::Method::PUT, &url).json(&policy))
        })
        .await?;
        match response.status().as_u16() {
            // Changed since we read it: read it again (the etag makes the write refused).
            409 | 412 => continue,
            _ => {
                checked(bucket, "change", response).await?;
                return Ok(grant(true));
            }
        }
    }
    Err(Error::resource(
        &what,
        Failure::AlreadyExists,
        format!(
            "the IAM policy of bucket {bucket} kept changing while access was being granted \
             ({ATTEMPTS} attempts); try again"
        ),
    ))
}

/// Adds `member` to the unconditional binding of `role` (made if there is none); false if
/// the member was in it already. A binding with a condition is left alone: it grants only
/// under its condition.
fn add_member(policy: &mut Value, role: &str, member: &str) -> Result<bool> {
    let malformed = || {
        Error::resource(
            "bucket IAM policy",
            Failure::Unavailable,
            "the service answered a policy without a list of bindings",
        )
    };
    let policy = policy.as_object_mut().ok_or_else(malformed)?;
    let bindings = policy
        .entry("bindings")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(malformed)?;
    let unconditional = bindings.iter_mut().find(|b| {
        b["role"].as_str() == Some(role) && b.get("condition").is_none_or(Value::is_null)
    });
    match unconditional {
        Some(binding) => {
            let members = binding
                .as_object_mut()
                .ok_or_else(malformed)?
                .entry("members")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .ok_or_else(malformed)?;
            if members.iter().any(|m| m.as_str() == Some(member)) {
                return Ok(false);
            }
            members.push(member.into());
        }
        None => bindings.push(serde_json::json!({ "role": role, "members": [member] })),
    }
    Ok(true)
}

/// The response when it is a success, else the error it means for `bucket`.
async fn checked(
    bucket: &str,
    doing: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let failure = google::failure_of(status);
    let message = match failure {
        Failure::NotFound => format!("bucket {bucket} does not exist"),
        Failure::PermissionDenied | Failure::Unauthenticated => format!(
            "no permission to {doing} the IAM policy of bucket {bucket} (granting access needs \
             storage.buckets.getIamPolicy and storage.buckets.setIamPolicy, e.g. roles/storage.admin): {}",
            google::error_message(status, &body)
        ),
        _ => google::error_message(status, &body),
    };
    Err(Error::resource(format!("gs://{bucket}"), failure, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_normalized_or_refused() {
        assert_eq!(
            member_of(" ana@example.com ").unwrap(),
            "user:ana@example.com"
        );
        for kept in [
            "user:ana@example.com",
            "group:team@example.org",
            "serviceAccount:sa@p.iam.gserviceaccount.com",
            "domain:example.com",
        ] {
            assert_eq!(member_of(kept).unwrap(), kept);
        }
        for bad in [
            "",
            "ana",
            "allUsers",
            "allAuthenticatedUsers",
            "user:ana",
            "domain:ana@example.com",
            "projectViewer:p",
            "ana@localhost",
            "a b@example.com",
            "user:@example.com",
        ] {
            let e = member_of(bad).unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { field, .. } if field == "member"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_member_joins_the_unconditional_binding_once() {
        let mut policy = json!({
            "kind": "storage#policy", "version": 3, "etag": "CAE=",
            "bindings": [
                {"role": OBJECT_VIEWER, "members": ["user:b@x.com"],
                 "condition": {"title": "t", "expression": "true"}},
                {"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:p"]},
            ]
        });
        assert!(add_member(&mut policy, OBJECT_VIEWER, "user:a@x.com").unwrap());
        assert!(!add_member(&mut policy, OBJECT_VIEWER, "user:a@x.com").unwrap());
        // The conditional binding is untouched; a new unconditional one holds the member.
        let bindings = policy["bindings"].as_array().unwrap();
        assert_eq!(bindings.len(), 3);
        assert_eq!(bindings[0]["members"], json!(["user:b@x.com"]));
        assert_eq!(
            bindings[2],
            json!({"role": OBJECT_VIEWER, "members": ["user:a@x.com"]})
        );
        assert!(add_member(&mut policy, OBJECT_VIEWER, "user:b@x.com").unwrap());
        assert_eq!(policy["etag"], "CAE=");
        let mut empty = json!({"etag": "CAE="});
        assert!(add_member(&mut empty, OBJECT_VIEWER, "user:a@x.com").unwrap());
        assert_eq!(empty["bindings"][0]["members"], json!(["user:a@x.com"]));
    }
}
