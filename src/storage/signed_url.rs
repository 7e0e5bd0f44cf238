//! V4 signed URLs of Cloud Storage objects (GOOG4-RSA-SHA256), as Google documents the
//! signing process "with your own program": a canonical request (verb, resource path,
//! sorted and encoded query, the `host` header, `UNSIGNED-PAYLOAD`), a string to sign
//! (algorithm, time, credential scope, the canonical request's SHA-256 in hex), and its
//! RSA-SHA256 signature in hex, made by the credentials' service account through
//! google-cloud-auth's signer (locally for a key file, else through the IAM API).
//!
//! The URL is path style on `https://storage.googleapis.com`; with `STORAGE_EMULATOR_HOST`
//! set, on the emulator (which serves such GETs without checking them), so that a test can
//! open it. `NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT` is where *we* call Cloud Storage, not a
//! host to hand to other people: it does not change the URL.

use super::gcs::{self, SEGMENT};
use super::{error, Location};
use crate::error::{Error, Failure, Result};
use crate::google;
use percent_encoding::{utf8_percent_encode, AsciiSet};
use std::time::Duration;

/// The longest a V4 signature may be valid: 7 days.
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

const ALGORITHM: &str = "GOOG4-RSA-SHA256";
const GOOGLE_BASE: &str = "https://storage.googleapis.com";

/// In the resource path, object names keep their slashes; everything else but RFC 3986's
/// unreserved characters is escaped (the query's names and values escape the slash too).
const PATH: &AsciiSet = &SEGMENT.remove(b'/');

/// A signed URL and when it stops working (RFC 3339, UTC).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignedUrl {
    pub url: String,
    pub expire_time: String,
}

/// A GET of `location` (an object in Cloud Storage) that anyone holding the URL may make
/// for `lifetime` (whole seconds, 1 s to 7 days).
pub async fn signed_url(location: &Location, lifetime: Duration) -> Result<SignedUrl> {
    let Location::Gcs { bucket, name } = location else {
        return Err(error(
            location,
            Failure::Invalid,
            "only an object in Cloud Storage has a signed URL",
        ));
    };
    let seconds = lifetime_seconds(lifetime)?;
    let signer = google::signer().await?;
    let email = signer
        .client_email()
        .await
        .map_err(|e| signing_error(location, &e))?;
    let now = chrono::Utc::now();
    let request = Request {
        base: gcs::emulator().unwrap_or_else(|| GOOGLE_BASE.to_owned()),
        bucket,
        object: name,
        client_email: &email,
        time: now,
        expires: seconds,
    };
    let signature = signer
        .sign(request.string_to_sign())
        .await
        .map_err(|e| signing_error(location, &e))?;
    let expire = now + chrono::Duration::seconds(seconds as i64);
    Ok(SignedUrl {
        url: request.url(&signature),
        expire_time: expire.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    })
}

fn lifetime_seconds(lifetime: Duration) -> Result<u64> {
    let seconds = lifetime.as_secs();
    if seconds == 0 || lifetime > MAX_LIFETIME || lifetime.subsec_nanos() != 0 {
        return Err(Error::invalid(
            "lifetime_seconds",
            format!(
                "a signed URL lives 1 to {} whole seconds (7 days)",
                MAX_LIFETIME.as_secs()
            ),
        ));
    }
    Ok(seconds)
}

fn signing_error(location: &Location, e: &google_cloud_auth::signer::SigningError) -> Error {
    let failure = if e.is_transport() {
        Failure::Unavailable
    } else {
        Failure::Unauthenticated
    };
    error(location, failure, format!("cannot sign a URL: {e}"))
}

/// What a signature covers: everything but the key, so that a test can fix the time.
struct Request<'a> {
    /// `scheme://host[:port]`
    base: String,
    bucket: &'a str,
    object: &'a str,
    client_email: &'a str,
    time: chrono::DateTime<chrono::Utc>,
    expires: u64,
}

impl Request<'_> {
    fn host(&self) -> String {
        let host = self.base.split_once("://").map_or(&*self.base, |(_, h)| h);
        host.trim_end_matches('/').to_ascii_lowercase()
    }

    fn path(&self) -> String {
        format!(
            "/{}/{}",
            utf8_percent_encode(self.bucket, SEGMENT),
            utf8_percent_encode(self.object, PATH)
        )
    }

    fn date_time(&self) -> String {
        self.time.format("%Y%m%dT%H%M%SZ").to_string()
    }

    fn scope(&self) -> String {
        format!("{}/auto/storage/goog4_request", self.time.format("%Y%m%d"))
    }

    /// The query without the signature: names and values escaped, sorted by name.
    fn query(&self) -> String {
        let mut pairs = [
            ("X-Goog-Algorithm", ALGORITHM.to_owned()),
            (
                "X-Goog-Credential",
                format!("{}/{}", self.client_email, self.scope()),
            ),
            ("X-Goog-Date", self.date_time()),
            ("X-Goog-Expires", self.expires.to_string()),
            ("X-Goog-SignedHeaders", "host".to_owned()),
        ];
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, SEGMENT),
                    utf8_percent_encode(v, SEGMENT)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn canonical_request(&self) -> String {
        format!(
            "GET\n{}\n{}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD",
            self.path(),
            self.query(),
            self.host()
        )
    }

    fn string_to_sign(&self) -> String {
        let digest =
            ring::digest::digest(&ring::digest::SHA256, self.canonical_request().as_bytes());
        format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            self.date_time(),
            self.scope(),
            hex(digest.as_ref())
        )
    }

    fn url(&self, signature: &[u8]) -> String {
        let base = self.base.trim_end_matches('/');
        format!(
            "{base}{}?{}&X-Goog-Signature={}",
            self.path(),
            self.query(),
            hex(signature)
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Google's public conformance vectors for V4 signing (googleapis/conformance-tests,
    /// storage/v1/v4_signatures.json, which every Google client library must reproduce)
    /// are made with this inactive dummy service account, published with them; RSA
    /// PKCS#1 v1.5 signatures are deterministic, so our URLs must match theirs to the byte.
    const CONFORMANCE_KEY: &str = include_str!("testdata/conformance-service-account.json");

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        text.parse().unwrap()
    }

    async fn sign(request: &Request<'_>) -> String {
        let key: serde_json::Value = serde_json::from_str(CONFORMANCE_KEY).unwrap();
        crate::google::install_crypto();
        let signer = google_cloud_auth::credentials::service_account::Builder::new(key)
            .build_signer()
            .unwrap();
        let signature = signer.sign(request.string_to_sign()).await.unwrap();
        request.url(&signature)
    }

    #[tokio::test]
    async fn urls_match_googles_conformance_vectors() {
        let email = "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com";
        let simple_get = Request {
            base: GOOGLE_BASE.into(),
            bucket: "test-bucket",
            object: "test-object",
            client_email: email,
            time: at("2019-02-01T09:00:00Z"),
            expires: 10,
        };
        assert_eq!(
            sign(&simple_get).await,
            "https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=95e6a13d43a1d1962e667f17397f2b80ac9bdd1669210d5e08e0135df9dff4e56113485dbe429ca2266487b9d1796ebdee2d7cf682a6ef3bb9fbb4c351686fba90d7b621cf1c4eb1fdf126460dd25fa0837dfdde0a9fd98662ce60844c458448fb2b352c203d9969cb74efa4bdb742287744a4f2308afa4af0e0773f55e32e92973619249214b97283b2daa14195244444e33f938138d1e5f561088ce8011f4986dda33a556412594db7c12fc40e1ff3f1bedeb7a42f5bcda0b9567f17f65855f65071fabb88ea12371877f3f77f10e1466fff6ff6973b74a933322ff0949ce357e20abe96c3dd5cfab42c9c83e740a4d32b9e11e146f0eb3404d2e975896f74"
        );
        let other = Request {
            bucket: "test-bucket2",
            object: "test-object2",
            ..simple_get
        };
        assert!(sign(&other).await.ends_with("X-Goog-Signature=36e3d58dfd3ec1d2dd2f24b5ee372a71e811ffaa2162a2b871d26728d0354270bc116face87127532969c4a3967ed05b7309af741e19c7202f3167aa8c2ac420b61417d6451442bb91d7c822cd17be8783f01e05372769c88913561d27e6660dd8259f0081a71f831be6c50283626cbf04494ac10c394b29bb3bce74ab91548f58a37118a452693cf0483d77561fc9cac8f1765d2c724994cca46a83517a10157ee0347a233a2aaeae6e6ab5e204ff8fc5f54f90a3efdb8301d9fff5475d58cd05b181affd657f48203f4fb133c3a3d355b8eefbd10d5a0a5fd70d06e9515460ad74e22334b2cba4b29cae4f6f285cdb92d8f3126d7a1479ca3bdb69c207d860"));
        let later = Request {
            bucket: "test-bucket",
            object: "test-object",
            time: at("2019-03-01T09:00:00Z"),
            expires: 20,
            ..other
        };
        assert!(sign(&later).await.ends_with("X-Goog-Signature=9669ed5b10664dc594c758296580662912cf4bcc5a4ba0b6bf055bcbf6f34eed7bdad664f534962174a924741a0c273a4f67bc1847cef20192a6beab44223bd9d4fbbd749c407b79997598c30f82ddc269ff47ec09fa3afe74e00616d438df0d96a7d8ad0adacfad1dc3286f864d924fe919fb0dce45d3d975c5afe8e13af2db9cc37ba77835f92f7669b61e94c6d562196c1274529e76cfff1564cc2cad7d5387dc8e12f7a5dfd925685fe92c30b43709eee29fa2f66067472cee5423d1a3a4182fe8cea75c9329d181dc6acad7c393cd04f8bf5bc0515127d8ebd65d80c08e19ad03316053ea60033fd1b1fd85a69c576415da3bf0a3718d9ea6d03e0d66f0"));
    }

    #[test]
    fn object_names_keep_their_slashes_and_escape_the_rest() {
        let request = Request {
            base: "http://127.0.0.1:4443".into(),
            bucket: "b-1",
            object: "out/ä run&x+y.html",
            client_email: "a@p.iam.gserviceaccount.com",
            time: at("2026-01-02T03:04:05Z"),
            expires: 604800,
        };
        assert_eq!(request.path(), "/b-1/out/%C3%A4%20run%26x%2By.html");
        assert_eq!(request.host(), "127.0.0.1:4443");
        assert_eq!(
            request.canonical_request(),
            "GET\n/b-1/out/%C3%A4%20run%26x%2By.html\n\
             X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=a%40p.iam.gserviceaccount.com%2F20260102%2Fauto%2Fstorage%2Fgoog4_request\
             &X-Goog-Date=20260102T030405Z&X-Goog-Expires=604800&X-Goog-SignedHeaders=host\n\
             host:127.0.0.1:4443\n\nhost\nUNSIGNED-PAYLOAD"
        );
        assert!(request.string_to_sign().starts_with(
            "GOOG4-RSA-SHA256\n20260102T030405Z\n20260102/auto/storage/goog4_request\n"
        ));
    }

    #[test]
    fn lifetimes_are_whole_seconds_up_to_seven_days() {
        assert_eq!(lifetime_seconds(Duration::from_secs(1)).unwrap(), 1);
        assert_eq!(lifetime_seconds(MAX_LIFETIME).unwrap(), 604800);
        for bad in [
            Duration::ZERO,
            MAX_LIFETIME + Duration::from_secs(1),
            Duration::from_millis(1500),
        ] {
            assert!(lifetime_seconds(bad).is_err(), "{bad:?}");
        }
    }
}
