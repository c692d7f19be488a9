//! The typed questions of the Direct Connect kinds ([`engine::kind::query`]):
//!
//! ```text
//!  dxgw      --DxCustomerOf-->   dx-router node  (the customer's ASN)
//!  dx-router --VifsFor-->        dxgw nodes      (its connections and VIFs as AWS hands them
//!                                                  out: VLAN, addresses, ASN, MD5 key)
//! ```
//!
//! The VGW-facing questions live with the VGW (`vgw::kind::query::DirectConnectPeersOf`,
//! `VgwFacts`). What it does not do: plan anything ([`super::plan`] does).

use engine::kind::query::Query;

use crate::customer::CustomerConnection;
use vgw::kind::query::PlanError;

/// "Are you a customer DX router, and what is your ASN?"
#[derive(Debug, Clone, Copy)]
pub struct DxCustomerOf;

impl Query for DxCustomerOf {
    type Answer = u32;
}

/// "Which connections to customer router `router` do you have, as the customer sees them?"
#[derive(Debug, Clone)]
pub struct VifsFor {
    /// The customer router node.
    pub router: String,
}

impl Query for VifsFor {
    /// The connections (none: not answered), or why the DX node could not be planned.
    type Answer = Result<Vec<CustomerConnection>, PlanError>;
}
