//! The running lab as the API reads and drives it: each daemon node's control socket in the
//! lab directory (`show` views and actions, the same ones `hybridlab show` and the scenario
//! timeline use, so a mutating call's effects show in the probes and events like a timeline
//! action's).
//!
//! What it does not do: cache (every request reads live state), or know a view's shape.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A running lab's directory.
#[derive(Debug, Clone)]
pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// The lab whose state directory is `dir`.
    pub fn new(dir: PathBuf) -> Lab {
        Lab { dir }
    }

    /// View `what` of node `node`.
    pub async fn show(&self, node: &str, what: &str) -> Result<Value, ApiError> {
        let path = control::socket_path(&self.dir, node);
        let mut c = control::Client::connect(&path)
            .await
            .map_err(|e| ApiError::unavailable(format!("node {node}: {e}")))?;
        c.show(what, Map::new())
            .await
            .map_err(|e| ApiError::unavailable(format!("node {node}: {e}")))
    }

    /// Action `kind` on node `node`; the daemon's refusal becomes `InvalidParameterValue`.
    pub async fn action(
        &self,
        node: &str,
        kind: &str,
        args: Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let path = control::socket_path(&self.dir, node);
        let mut c = control::Client::connect(&path)
            .await
            .map_err(|e| ApiError::unavailable(format!("node {node}: {e}")))?;
        c.action(kind, args).await.map_err(|e| match e {
            control::ControlError::Remote(body) => ApiError::invalid_parameter(body.message),
            other => ApiError::unavailable(format!("node {node}: {other}")),
        })
    }
}
