//! Poll a condition until it holds or a deadline passes.
//!
//! Tests never sleep to synchronise: they state what they wait for and how long they are prepared
//! to wait, and a timeout fails with the last observation so the failure explains itself
//! (the same idea as FRR topotests' `run_and_expect`).

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// The condition did not hold before the deadline; carries the last value seen.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {waited:?} waiting for {what}; last observation: {last}")]
pub struct Timeout {
    /// What the caller was waiting for.
    pub what: String,
    /// How long it waited.
    pub waited: Duration,
    /// `Debug` rendering of the last observation.
    pub last: String,
}

/// Calls `probe` every `interval` until it returns `Some`, or fails after `timeout`.
///
/// `probe` returns `Ok(value)` when the condition holds, `Err(observation)` otherwise.
pub fn wait_for<T, O: Debug>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<T, O>,
) -> Result<T, Timeout> {
    let start = Instant::now();
    loop {
        let last = match probe() {
            Ok(value) => return Ok(value),
            Err(observation) => observation,
        };
        if start.elapsed() >= timeout {
            return Err(Timeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                last: format!("{last:?}"),
            });
        }
        std::thread::sleep(interval);
    }
}

/// Async twin of [`wait_for`] for tests running on tokio.
pub async fn wait_for_async<T, O: Debug, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: F,
) -> Result<T, Timeout>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, O>>,
{
    let start = Instant::now();
    loop {
        let last = match probe().await {
            Ok(value) => return Ok(value),
            Err(observation) => observation,
        };
        if start.elapsed() >= timeout {
            return Err(Timeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                last: format!("{last:?}"),
            });
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_the_condition_holds() {
        let mut calls = 0;
        let got = wait_for("third call", Duration::from_secs(5), Duration::ZERO, || {
            calls += 1;
            if calls == 3 { Ok(calls) } else { Err(calls) }
        });
        assert_eq!(got.unwrap(), 3);
    }

    #[test]
    fn times_out_with_the_last_observation() {
        let err = wait_for::<(), _>(
            "never",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || Err("still false"),
        )
        .unwrap_err();
        assert_eq!(err.what, "never");
        assert!(err.last.contains("still false"), "{err}");
        assert!(err.waited >= Duration::from_millis(20));
    }
}
