//! The server and client over a real Unix socket in a temporary directory.

use std::time::Duration;

use control::{Client, ControlError, ErrorBody, ErrorCode, ServerBuilder};
use secret::Secret;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn started(dir: &tempfile::TempDir) -> (control::Server, std::path::PathBuf) {
    let path = dir.path().join("vgw1.sock");
    let psk = Secret::new("correct-horse".to_string());
    let server = ServerBuilder::new("vgw1")
        .show("routes", |p| async move {
            Ok(json!({"routes": ["10.1.0.0/16"], "family": p.args.get("family")}))
        })
        .show("tunnels", move |_| {
            let psk = psk.clone();
            async move { Ok(json!([{"name": "t1", "psk": psk}])) }
        })
        .action("withdraw", |p| async move {
            match p.args.get("prefixes").and_then(Value::as_array) {
                Some(list) => Ok(json!({"withdrawn": list.len()})),
                None => Err(ErrorBody::new(
                    ErrorCode::BadRequest,
                    "\"prefixes\" must be a list",
                )),
            }
        })
        .bind(&path)
        .await
        .unwrap();
    (server, path)
}

#[tokio::test]
async fn show_and_action_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, path) = started(&dir).await;
    let mut c = Client::connect(&path).await.unwrap();
    let r = c
        .show("routes", args(json!({"family": "ipv4"})))
        .await
        .unwrap();
    assert_eq!(r, json!({"routes": ["10.1.0.0/16"], "family": "ipv4"}));
    let r = c
        .action("withdraw", args(json!({"prefixes": ["a", "b"]})))
        .await
        .unwrap();
    assert_eq!(r, json!({"withdrawn": 2}));
    let e = c.action("withdraw", Map::new()).await.unwrap_err();
    let ControlError::Remote(body) = e else {
        panic!("{e:?}")
    };
    assert_eq!(body.code, ErrorCode::BadRequest);
    let help = c.show("", Map::new()).await.unwrap();
    assert_eq!(
        help,
        json!({"shows": ["routes", "tunnels"], "actions": ["withdraw"]})
    );
    let e = c.show("bogus", Map::new()).await.unwrap_err();
    let ControlError::Remote(body) = e else {
        panic!("{e:?}")
    };
    assert_eq!(body.code, ErrorCode::NotFound);
    assert!(body.message.contains("routes, tunnels"), "{}", body.message);
}

#[tokio::test]
async fn secrets_never_reach_show_output() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, path) = started(&dir).await;
    let mut c = Client::connect(&path).await.unwrap();
    let r = c.show("tunnels", Map::new()).await.unwrap();
    assert_eq!(r, json!([{"name": "t1", "psk": "***"}]));
}

#[tokio::test]
async fn events_stream_in_order_with_monotonic_stamps() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = started(&dir).await;
    let publisher = server.publisher();
    let mut events = Client::connect(&path)
        .await
        .unwrap()
        .subscribe()
        .await
        .unwrap();
    testkit::wait_for(
        "subscriber registered",
        Duration::from_secs(5),
        Duration::from_millis(5),
        || {
            if publisher.subscribers() == 1 {
                Ok(())
            } else {
                Err(publisher.subscribers())
            }
        },
    )
    .unwrap();
    let before = netns::clock::monotonic_ns();
    publisher.publish("bgp.up", json!({"neighbor": "169.254.10.1"}));
    publisher.publish("bgp.down", json!({"neighbor": "169.254.10.1"}));
    let a = events.next().await.unwrap().unwrap();
    let b = events.next().await.unwrap().unwrap();
    assert_eq!((a.kind.as_str(), b.kind.as_str()), ("bgp.up", "bgp.down"));
    assert_eq!(a.node, "vgw1");
    assert!(a.t_ns >= before && b.t_ns >= a.t_ns);
    assert_eq!(a.data["neighbor"], "169.254.10.1");
    // The daemon going away ends the stream.
    drop(server);
    drop(publisher);
    let end = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None)), "{end:?}");
}

/// A daemon's first events (a BGP session coming up) can precede the engine's subscription:
/// the first subscriber gets them, in order, before anything published later; a second
/// subscriber only what follows its subscription.
#[tokio::test]
async fn the_first_subscriber_gets_what_was_published_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = started(&dir).await;
    let publisher = server.publisher();
    publisher.publish("bgp.state", json!({"to": "OpenSent"}));
    publisher.publish("bgp.up", json!({}));
    let mut first = Client::connect(&path)
        .await
        .unwrap()
        .subscribe()
        .await
        .unwrap();
    let mut second = Client::connect(&path)
        .await
        .unwrap()
        .subscribe()
        .await
        .unwrap();
    testkit::wait_for(
        "both subscribers registered",
        Duration::from_secs(5),
        Duration::from_millis(5),
        || {
            if publisher.subscribers() == 2 {
                Ok(())
            } else {
                Err(publisher.subscribers())
            }
        },
    )
    .unwrap();
    publisher.publish("bgp.down", json!({}));
    let mut kinds = Vec::new();
    for _ in 0..3 {
        kinds.push(first.next().await.unwrap().unwrap().kind);
    }
    assert_eq!(kinds, ["bgp.state", "bgp.up", "bgp.down"]);
    assert_eq!(second.next().await.unwrap().unwrap().kind, "bgp.down");
}

/// Past [`control::server::EARLY_EVENTS`] unsubscribed events the oldest go, and the first
/// subscriber is told how many with `events.lost` before the rest.
#[tokio::test]
async fn early_events_beyond_the_bound_are_reported_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = started(&dir).await;
    let publisher = server.publisher();
    for i in 0..control::server::EARLY_EVENTS + 3 {
        publisher.publish("n", json!(i));
    }
    let mut events = Client::connect(&path)
        .await
        .unwrap()
        .subscribe()
        .await
        .unwrap();
    let lost = events.next().await.unwrap().unwrap();
    assert_eq!(
        (lost.kind.as_str(), &lost.data),
        ("events.lost", &json!({"missed": 3}))
    );
    assert_eq!(events.next().await.unwrap().unwrap().data, json!(3));
}

#[tokio::test]
async fn malformed_lines_get_an_error_and_the_connection_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, path) = started(&dir).await;
    let stream = UnixStream::connect(&path).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    wr.write_all(b"{oops\n{\"id\":5,\"method\":\"reboot\"}\n{\"id\":6,\"method\":\"show\",\"params\":{\"what\":\"routes\"}}\n")
        .await
        .unwrap();
    let l1: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(l1["error"]["code"], "bad_request");
    let l2: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(
        (l2["id"].as_u64(), l2["error"]["code"].as_str()),
        (Some(5), Some("unknown_method"))
    );
    let l3: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(l3["id"], 6);
    assert_eq!(l3["result"]["routes"][0], "10.1.0.0/16");
}

#[tokio::test]
async fn a_live_socket_is_not_stolen_but_a_stale_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = started(&dir).await;
    let e = ServerBuilder::new("other").bind(&path).await.unwrap_err();
    assert!(matches!(e, ControlError::AlreadyServed(_)), "{e:?}");
    drop(server);
    assert!(
        !path.exists(),
        "dropping the server removes its socket file"
    );
    // A socket file nobody listens on (a crashed daemon's) is replaced.
    let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(stale);
    assert!(path.exists());
    let _again = ServerBuilder::new("vgw1").bind(&path).await.unwrap();
    let mut c = Client::connect(&path).await.unwrap();
    assert!(c.show("help", Map::new()).await.is_ok());
}
