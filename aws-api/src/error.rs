//! API errors in the shapes the SDKs parse: the EC2 Query API's XML
//! (`<Response><Errors><Error><Code>…`) and the Direct Connect JSON 1.1 protocol's
//! `{"__type": …, "message": …}`. Codes are AWS's (AuthFailure, InvalidAction,
//! InvalidParameterValue, MissingParameter, InvalidVpnConnectionID.NotFound, …); a message
//! never holds a key or a stack trace.
//!
//! What it does not do: decide which error a request gets (the handlers do).

use crate::xml::escape;

/// One API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// AWS's error code (EC2) or exception name (Direct Connect).
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code`, `message`.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// EC2's `InvalidParameterValue`.
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "InvalidParameterValue", message)
    }

    /// EC2's `MissingParameter`.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new(
            400,
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// A daemon of the lab cannot be reached (the lab is going down, or a node was killed).
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "Unavailable", message)
    }

    /// The EC2 Query API's error document.
    pub fn ec2_xml(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
            escape(&self.code),
            escape(&self.message),
            escape(request_id)
        )
    }

    /// The JSON 1.1 protocol's error body.
    pub fn json(&self) -> String {
        serde_json::json!({"__type": self.code, "message": self.message}).to_string()
    }
}
