//! HTTP/1.1 framing for the API endpoint (RFC 9112): a request head parsed by `httparse`, a
//! body of exactly `Content-Length` bytes, keep-alive until the client closes or asks
//! `Connection: close`. The SDKs send nothing else (no chunked request bodies, no pipelining
//! beyond one request at a time).
//!
//! Limits: a head of at most 16 KiB with 64 headers, a body of at most 1 MiB; beyond them,
//! or a malformed head, the connection gets a 400 or 413 and is closed ([`FrameError`]).
//!
//! What it does not do: TLS (the endpoint is plain HTTP on loopback, as LocalStack's),
//! routing or authentication ([`crate::server`]).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request head.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;
const MAX_HEADERS: usize = 64;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path, still percent-encoded, without the query.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Headers in their order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Why a request could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Malformed head.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Head or body over the limits.
    #[error("request too large")]
    TooLarge,
}

/// The outcome of parsing the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A whole request, and how many bytes it took.
    Complete(Request, usize),
}

/// Parses one request from the front of `buf` (sans-IO: the connection loop feeds it).
pub fn parse(buf: &[u8]) -> Result<Parsed, FrameError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEAD {
                Err(FrameError::TooLarge)
            } else {
                Ok(Parsed::Partial)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(FrameError::TooLarge),
        Err(e) => return Err(FrameError::Malformed(e.to_string())),
    };
    if head_len > MAX_HEAD {
        return Err(FrameError::TooLarge);
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(FrameError::Malformed(
            "Transfer-Encoding is not supported: send Content-Length".into(),
        ));
    }
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.as_str())
        .collect();
    let body_len = match lengths.as_slice() {
        [] => 0,
        [one] => one
            .parse::<usize>()
            .map_err(|_| FrameError::Malformed("Content-Length is not a number".into()))?,
        _ => {
            return Err(FrameError::Malformed("more than one Content-Length".into()));
        }
    };
    if body_len > MAX_BODY {
        return Err(FrameError::TooLarge);
    }
    let Some(total) = head_len.checked_add(body_len) else {
        return Err(FrameError::TooLarge);
    };
    if buf.len() < total {
        return Ok(Parsed::Partial);
    }
    Ok(Parsed::Complete(
        Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers,
            body: buf[head_len..total].to_vec(),
        },
        total,
    ))
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Content Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn write_response<W: AsyncWrite + Unpin>(
    w: &mut W,
    r: &Response,
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len(),
        if close { "close" } else { "keep-alive" }
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes()).await?;
    w.write_all(&r.body).await?;
    w.flush().await
}

/// Serves one connection: each request framed, handed to `handle`, answered; a framing error
/// is answered (400/413) and ends the connection.
pub async fn serve_connection<S, F, Fut>(mut stream: S, handle: F) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        match parse(&buf) {
            Ok(Parsed::Complete(req, used)) => {
                buf.drain(..used);
                let close = req.wants_close();
                let resp = handle(req).await;
                write_response(&mut stream, &resp, close).await?;
                if close {
                    return Ok(());
                }
                continue;
            }
            Ok(Parsed::Partial) => {}
            Err(e) => {
                let status = if e == FrameError::TooLarge { 413 } else { 400 };
                let resp = Response {
                    status,
                    content_type: "text/plain",
                    headers: Vec::new(),
                    body: format!("{e}\n").into_bytes(),
                };
                return write_response(&mut stream, &resp, true).await;
            }
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_post_with_its_body() {
        let raw = b"POST /?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET";
        let Parsed::Complete(r, used) = parse(raw).unwrap() else {
            panic!("partial")
        };
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("POST", "/", "x=1")
        );
        assert_eq!(r.body, b"hello");
        assert_eq!(used, raw.len() - 3);
        assert_eq!(parse(&raw[..30]).unwrap(), Parsed::Partial);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse(b"\x01\x02 / HTTP/1.1\r\n\r\n"),
            Err(FrameError::Malformed(_))
        ));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(parse(big.as_bytes()), Err(FrameError::TooLarge));
        let two = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
        assert!(matches!(parse(two), Err(FrameError::Malformed(_))));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse(chunked), Err(FrameError::Malformed(_))));
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert!(parse(&huge).is_err());
    }

    #[tokio::test]
    async fn keep_alive_then_close() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(serve_connection(server, |r: Request| async move {
            Response {
                status: 200,
                content_type: "text/plain",
                headers: Vec::new(),
                body: r.body,
            }
        }));
        client
            .write_all(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabPOST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\ncd")
            .await
            .unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
        assert!(out.ends_with("cd") && out.contains("\r\n\r\nab"), "{out}");
    }

    proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&raw);
        }

        #[test]
        fn never_panics_on_heads(head in "[A-Z]{1,7} /[ -~]{0,40} HTTP/1\\.[01]\r\n([A-Za-z-]{1,12}: [ -~]{0,20}\r\n){0,5}\r\n", tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut raw = head.into_bytes();
            raw.extend(tail);
            let _ = parse(&raw);
        }
    }
}
