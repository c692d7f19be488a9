//! The wire protocol of the control socket: one JSON object per line (docs/design.md).
//!
//! ```text
//! client                                             daemon
//!   {"id":1,"method":"show","params":{"what":"routes"}}  ->
//!                                                    <-  {"id":1,"result":{...}}
//!   {"id":2,"method":"events"}                           ->
//!                                                    <-  {"id":2,"result":"subscribed"}
//!                                                    <-  {"event":{"t_ns":..,"node":"vgw1","kind":"bgp.state","data":{..}}}
//!                                                    <-  ... (the connection now only streams events)
//!   {"id":3,"method":"action","params":{"kind":"withdraw","prefixes":["10.1.0.0/16"]}} ->
//!                                                    <-  {"id":3,"error":{"code":"bad_request","message":"..."}}
//! ```
//!
//! What it does: typed requests, replies and events, and their (de)serialisation, with decoders
//! that return an error (never panic) on any input line.
//!
//! What it does not do: transport, framing of partial lines, or deciding what a `show` or an
//! `action` means (that belongs to each daemon's handlers, see [`crate::server`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request line sent by a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Chosen by the client; echoed in the reply.
    pub id: u64,
    /// What is asked.
    pub call: Call,
}

/// The three methods of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Read state: `{"method":"show","params":{"what":"routes", ...}}`.
    Show(ShowParams),
    /// Turn the connection into an event stream: `{"method":"events"}`.
    Events,
    /// Change state: `{"method":"action","params":{"kind":"withdraw", ...}}`.
    Action(ActionParams),
}

/// Parameters of `show`: which view, plus view-specific arguments (`prefix`, `limit`, ...).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ShowParams {
    /// The view's name, e.g. `routes`, `neighbors`, `tunnels`. Empty asks for the list of views.
    #[serde(default)]
    pub what: String,
    /// View-specific arguments.
    #[serde(flatten)]
    pub args: Map<String, Value>,
}

/// Parameters of `action`: its kind plus kind-specific arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionParams {
    /// The action, e.g. `withdraw`, `rekey`.
    pub kind: String,
    /// Action-specific arguments.
    #[serde(flatten)]
    pub args: Map<String, Value>,
}

/// The raw shape of a request line, before the method is checked.
#[derive(Serialize, Deserialize)]
struct RawRequest {
    id: u64,
    method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    params: Option<Value>,
}

/// A request line could not be understood; the server answers with `bad_request`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// The request id when it could be read, so the reply can carry it.
    pub id: Option<u64>,
    /// The reply's error code.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}

impl Request {
    /// Decodes one line (without its newline).
    pub fn decode(line: &str) -> Result<Request, DecodeError> {
        let raw: RawRequest = serde_json::from_str(line).map_err(|e| DecodeError {
            id: serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("id")?.as_u64()),
            code: ErrorCode::BadRequest,
            message: format!("not a request ({{\"id\":N,\"method\":...}}): {e}"),
        })?;
        let bad = |message: String| DecodeError {
            id: Some(raw.id),
            code: ErrorCode::BadRequest,
            message,
        };
        let params = raw.params.unwrap_or(Value::Object(Map::new()));
        let call = match raw.method.as_str() {
            "show" => Call::Show(
                serde_json::from_value(params).map_err(|e| bad(format!("show params: {e}")))?,
            ),
            "events" => Call::Events,
            "action" => Call::Action(
                serde_json::from_value(params).map_err(|e| bad(format!("action params: {e}")))?,
            ),
            other => {
                return Err(DecodeError {
                    id: Some(raw.id),
                    code: ErrorCode::UnknownMethod,
                    message: format!("unknown method {other:?}: expected show, events or action"),
                });
            }
        };
        Ok(Request { id: raw.id, call })
    }

    /// Encodes the request as one line, without the newline.
    pub fn encode(&self) -> String {
        let (method, params) = match &self.call {
            Call::Show(p) => ("show", Some(to_value(p))),
            Call::Events => ("events", None),
            Call::Action(p) => ("action", Some(to_value(p))),
        };
        let raw = RawRequest {
            id: self.id,
            method: method.to_string(),
            params,
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }
}

fn to_value<T: Serialize>(t: &T) -> Value {
    // Serialising our own plain structs into a Value cannot fail (string keys, no non-finite floats).
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Error codes carried by error replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed or its parameters were wrong.
    BadRequest,
    /// The method is not `show`, `events` or `action`.
    UnknownMethod,
    /// No such view or action kind.
    NotFound,
    /// The daemon cannot answer right now (starting, shutting down).
    Unavailable,
    /// The handler failed.
    Internal,
    /// A code this version does not know (sent by a newer daemon).
    #[serde(other)]
    Other,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownMethod => "unknown_method",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Other => "other",
        };
        f.write_str(s)
    }
}

/// The body of an error reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
}

impl ErrorBody {
    /// An error body with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code,
            message: message.into(),
        }
    }
}

/// A reply line: the request's id and either a result or an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The request's id (`None` when the request was unreadable).
    pub id: Option<u64>,
    /// The outcome.
    pub outcome: Result<Value, ErrorBody>,
}

/// An event as streamed after `events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// CLOCK_MONOTONIC nanoseconds, the machine-wide time axis.
    pub t_ns: u64,
    /// The node that emitted it.
    pub node: String,
    /// Dotted kind, e.g. `bgp.state`, `ipsec.sa_established`, `events.lost`.
    pub kind: String,
    /// Kind-specific data.
    #[serde(default)]
    pub data: Value,
}

/// Any line a server sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerLine {
    /// A reply to a request.
    Reply(Reply),
    /// An event on a subscribed connection.
    Event(Event),
}

#[derive(Serialize, Deserialize)]
struct RawServerLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<Event>,
}

impl ServerLine {
    /// Decodes one line a server sent.
    pub fn decode(line: &str) -> Result<ServerLine, String> {
        let raw: RawServerLine =
            serde_json::from_str(line).map_err(|e| format!("unreadable line from server: {e}"))?;
        match raw {
            RawServerLine {
                event: Some(ev),
                result: None,
                error: None,
                ..
            } => Ok(ServerLine::Event(ev)),
            RawServerLine {
                id,
                error: Some(err),
                result: None,
                event: None,
            } => Ok(ServerLine::Reply(Reply {
                id,
                outcome: Err(err),
            })),
            RawServerLine {
                id,
                result: Some(v),
                error: None,
                event: None,
            } => Ok(ServerLine::Reply(Reply { id, outcome: Ok(v) })),
            // `"result": null` deserialises as a missing result.
            RawServerLine {
                id: Some(id),
                result: None,
                error: None,
                event: None,
            } => Ok(ServerLine::Reply(Reply {
                id: Some(id),
                outcome: Ok(Value::Null),
            })),
            _ => Err("server line is neither a reply nor an event".to_string()),
        }
    }

    /// Encodes the line without its newline.
    pub fn encode(&self) -> String {
        let raw = match self {
            ServerLine::Event(ev) => RawServerLine {
                id: None,
                result: None,
                error: None,
                event: Some(ev.clone()),
            },
            ServerLine::Reply(r) => match &r.outcome {
                Ok(v) => RawServerLine {
                    id: r.id,
                    result: Some(v.clone()),
                    error: None,
                    event: None,
                },
                Err(e) => RawServerLine {
                    id: r.id,
                    result: None,
                    error: Some(e.clone()),
                    event: None,
                },
            },
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn decodes_the_three_methods_of_design_md() {
        let r = Request::decode(r#"{"id":1,"method":"show","params":{"what":"routes"}}"#).unwrap();
        assert_eq!(r.id, 1);
        assert_eq!(
            r.call,
            Call::Show(ShowParams {
                what: "routes".into(),
                args: Map::new()
            })
        );
        let r = Request::decode(r#"{"id":2,"method":"events"}"#).unwrap();
        assert_eq!(r.call, Call::Events);
        let r = Request::decode(
            r#"{"id":3,"method":"action","params":{"kind":"withdraw","prefixes":["10.1.0.0/16"]}}"#,
        )
        .unwrap();
        let Call::Action(p) = r.call else {
            panic!("not an action")
        };
        assert_eq!(p.kind, "withdraw");
        assert_eq!(p.args["prefixes"], json!(["10.1.0.0/16"]));
    }

    #[test]
    fn request_round_trips() {
        let mut args = Map::new();
        args.insert("prefix".into(), json!("10.0.0.0/8"));
        for call in [
            Call::Show(ShowParams {
                what: "route".into(),
                args: args.clone(),
            }),
            Call::Events,
            Call::Action(ActionParams {
                kind: "rekey".into(),
                args,
            }),
        ] {
            let r = Request { id: 7, call };
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn bad_requests_keep_their_id_when_readable() {
        let e = Request::decode(r#"{"id":9,"method":"reboot"}"#).unwrap_err();
        assert_eq!((e.id, e.code), (Some(9), ErrorCode::UnknownMethod));
        let e = Request::decode(r#"{"id":4,"method":"action","params":{}}"#).unwrap_err();
        assert_eq!((e.id, e.code), (Some(4), ErrorCode::BadRequest));
        assert!(e.message.contains("kind"), "{}", e.message);
        let e = Request::decode("{not json").unwrap_err();
        assert_eq!((e.id, e.code), (None, ErrorCode::BadRequest));
    }

    #[test]
    fn server_lines_round_trip() {
        for line in [
            ServerLine::Reply(Reply {
                id: Some(1),
                outcome: Ok(json!({"a": 1})),
            }),
            ServerLine::Reply(Reply {
                id: None,
                outcome: Err(ErrorBody::new(ErrorCode::BadRequest, "nope")),
            }),
            ServerLine::Event(Event {
                t_ns: 5,
                node: "vgw1".into(),
                kind: "bgp.state".into(),
                data: json!({"to": "Established"}),
            }),
        ] {
            assert_eq!(ServerLine::decode(&line.encode()).unwrap(), line);
        }
        let unknown = ServerLine::decode(r#"{"id":1,"error":{"code":"teapot","message":"x"}}"#);
        let Ok(ServerLine::Reply(Reply {
            outcome: Err(e), ..
        })) = unknown
        else {
            panic!("{unknown:?}")
        };
        assert_eq!(e.code, ErrorCode::Other);
    }

    proptest! {
        // Decoders never panic on arbitrary input (the fuzz target explores further).
        #[test]
        fn decoders_never_panic(line in ".{0,200}") {
            let _ = Request::decode(&line);
            let _ = ServerLine::decode(&line);
        }

        #[test]
        fn decoders_never_panic_on_json_shapes(
            id in proptest::option::of(any::<u64>()),
            method in "(show|events|action|[a-z]{0,6})",
            what in proptest::option::of("[a-z]{0,8}"),
        ) {
            let mut v = json!({"method": method});
            if let Some(id) = id { v["id"] = json!(id); }
            if let Some(w) = what { v["params"] = json!({"what": w, "kind": w}); }
            let line = v.to_string();
            if let Ok(r) = Request::decode(&line) {
                prop_assert_eq!(Request::decode(&r.encode()).unwrap(), r);
            }
        }
    }
}
