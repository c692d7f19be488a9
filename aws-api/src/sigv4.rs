//! AWS Signature Version 4 verification of a request (AWS's "Create a signed AWS API request":
//! canonical request, string to sign, the derived signing key), for the credentials the lab
//! prints. Only the `Authorization` header form is accepted (no presigned query strings).
//!
//! The checks, in order: the header parses; the access key is the lab's; the service in the
//! scope is the one the endpoint serves; `X-Amz-Date` is present, its day is the scope's, and
//! it is within 15 minutes of now (AWS's allowed skew); `host` and `x-amz-date` are among the
//! signed headers; the signature matches (compared in constant time by `ring::hmac::verify`).
//!
//! What it does not do: sign (the tests use botocore), session tokens, chunked payloads.

use std::time::{Duration, SystemTime};

use ring::{digest, hmac};

use crate::form::{pairs, uri_encode};
use crate::time::parse_amz_date;

/// AWS's allowed clock skew.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The lab's API credentials.
pub struct Credentials {
    /// Access key id (not secret: it appears in every request).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: secret::Secret<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &secret::REDACTED)
            .finish()
    }
}

/// What the signature covers.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`.
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The query string as sent (without `?`).
    pub query: &'a str,
    /// Headers as sent.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("the request has no Authorization header")]
    Missing,
    /// The header or a required part of the request is malformed.
    #[error("malformed Authorization: {0}")]
    Malformed(String),
    /// Not the lab's access key.
    #[error("the access key id is not this lab's")]
    UnknownKey,
    /// Signed for another service.
    #[error("the credential scope is for service {0:?}")]
    WrongService(String),
    /// `X-Amz-Date` too far from now.
    #[error("the request's date is more than 15 minutes from the server's")]
    Expired,
    /// The signature does not match.
    #[error("the request signature does not match")]
    BadSignature,
}

impl<'a> SignedRequest<'a> {
    /// All values of header `name` (case-insensitive), trimmed and joined by `,`.
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

fn hmac_sign(key: &[u8], msg: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg.as_bytes())
}

/// The parts of `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
#[derive(Debug, PartialEq, Eq)]
struct AuthHeader<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_auth(h: &str) -> Result<AuthHeader<'_>, AuthError> {
    let bad = |m: &str| AuthError::Malformed(m.to_string());
    let rest = h
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| bad("the algorithm must be AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or_else(|| bad("no Credential"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(bad(
            "Credential must be KEY/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    let signature = signature.ok_or_else(|| bad("no Signature"))?;
    if signature.len() != 64 || !signature.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("Signature must be 64 hex digits"));
    }
    Ok(AuthHeader {
        access_key,
        date,
        region,
        service,
        signed_headers: signed
            .ok_or_else(|| bad("no SignedHeaders"))?
            .split(';')
            .collect(),
        signature,
    })
}

/// The canonical request of `r` over `signed_headers`.
fn canonical_request(r: &SignedRequest<'_>, signed_headers: &[&str]) -> Result<String, AuthError> {
    let mut query: Vec<(String, String)> = pairs(r.query)
        .into_iter()
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed_headers {
        let value = r
            .header(name)
            .ok_or_else(|| AuthError::Malformed(format!("signed header {name:?} is missing")))?;
        headers.push_str(&format!("{}:{value}\n", name.to_ascii_lowercase()));
    }
    let payload = r
        .header("x-amz-content-sha256")
        .unwrap_or_else(|| sha256_hex(r.body));
    let path = if r.path.is_empty() { "/" } else { r.path };
    Ok(format!(
        "{}\n{}\n{query}\n{headers}\n{}\n{payload}",
        r.method,
        uri_encode(path, true),
        signed_headers.join(";")
    ))
}

/// Verifies `r` for `service` against `creds` at time `now`.
pub fn verify(
    r: &SignedRequest<'_>,
    creds: &Credentials,
    service: &str,
    now: SystemTime,
) -> Result<(), AuthError> {
    let header = r.header("authorization").ok_or(AuthError::Missing)?;
    let auth = parse_auth(&header)?;
    if auth.access_key != creds.access_key_id {
        return Err(AuthError::UnknownKey);
    }
    if auth.service != service {
        return Err(AuthError::WrongService(auth.service.to_string()));
    }
    let amz_date = r
        .header("x-amz-date")
        .ok_or_else(|| AuthError::Malformed("no X-Amz-Date header".into()))?;
    let when = parse_amz_date(&amz_date)
        .ok_or_else(|| AuthError::Malformed("X-Amz-Date is not YYYYMMDDTHHMMSSZ".into()))?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(AuthError::Malformed(
            "the Credential's date is not X-Amz-Date's".into(),
        ));
    }
    let skew = now.duration_since(when).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(AuthError::Expired);
    }
    for required in ["host", "x-amz-date"] {
        if !auth
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(required))
        {
            return Err(AuthError::Malformed(format!(
                "{required} must be a signed header"
            )));
        }
    }
    let canonical = canonical_request(r, &auth.signed_headers)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let secret = zeroize::Zeroizing::new(format!("AWS4{}", creds.secret_access_key.expose()));
    let k_date = hmac_sign(secret.as_bytes(), auth.date);
    let k_region = hmac_sign(k_date.as_ref(), auth.region);
    let k_service = hmac_sign(k_region.as_ref(), auth.service);
    let k_signing = hmac_sign(k_service.as_ref(), "aws4_request");
    let expected = hex::decode(auth.signature).map_err(|_| AuthError::BadSignature)?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref()),
        to_sign.as_bytes(),
        &expected,
    )
    .map_err(|_| AuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: secret::Secret::new(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            ),
        }
    }

    /// AWS's published SigV4 test suite case `get-vanilla` (the signature AWS documents for
    /// this request with the example credentials above, service "service", us-east-1).
    #[test]
    fn aws_get_vanilla_vector() {
        let headers = vec![
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            (
                "Authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_string(),
            ),
        ];
        let r = SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let now = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(verify(&r, &creds(), "service", now), Ok(()));
        // Another secret, another service, a day later: refused, each for its reason.
        let other = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: secret::Secret::new("x".into()),
        };
        assert_eq!(
            verify(&r, &other, "service", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&r, &creds(), "ec2", now),
            Err(AuthError::WrongService("service".into()))
        );
        let later = now + Duration::from_secs(86_400);
        assert_eq!(
            verify(&r, &creds(), "service", later),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn a_changed_body_breaks_the_signature() {
        let headers = vec![
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            (
                "Authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_string(),
            ),
        ];
        let r = SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"Action=X",
        };
        let now = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(
            verify(&r, &creds(), "service", now),
            Err(AuthError::BadSignature)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_authorization_headers_never_panic(h in "\\PC{0,200}", path in "\\PC{0,20}", q in "\\PC{0,40}") {
            let headers = vec![
                ("host".to_string(), "x".to_string()),
                ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
                ("authorization".to_string(), h),
            ];
            let r = SignedRequest { method: "POST", path: &path, query: &q, headers: &headers, body: b"" };
            let _ = verify(&r, &creds(), "ec2", SystemTime::now());
        }
    }
}
