//! What the API endpoint decodes from the network, on any bytes: HTTP/1.1 framing, the form
//! parameters of the body, SigV4 verification of the framed request (its Authorization
//! header, dates, canonical request), and `X-Amz-Date` alone.
#![no_main]
use aws_api::form::Params;
use aws_api::http::{Parsed, parse};
use aws_api::sigv4::{Credentials, SignedRequest, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Params::parse(&text).list("VpnConnectionId");
    let _ = aws_api::time::parse_amz_date(&text);
    if let Ok(Parsed::Complete(req, used)) = parse(data) {
        assert!(used <= data.len());
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: secret::Secret::new("k".to_string()),
        };
        let signed = SignedRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        };
        let _ = verify(&signed, &creds, "ec2", std::time::SystemTime::now());
    }
});
