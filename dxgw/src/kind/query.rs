//! The typed questions of the Direct Connect kinds ([`engine::kind::query`]):
//!
//! ```text
//!  dxgw      --DxCustomerOf-->   dx-router node  (the customer's ASN)
//!  dx-router --VifsFor-->        dxgw nodes      (its connections and VIFs as AWS hands them
//!                                                  out: VLAN, addresses, ASN, MD5 key)
//!  CLI       --DxRouterConfigOf-> dx-router node (its daemon file: `cgw-config`'s VIF form)
//! ```
//!
//! The VGW-facing questions live with the VGW (`vgw::kind::query::DirectConnectPeersOf`,
//! `VgwFacts`). What it does not do: plan anything ([`super::plan`] does).

use engine::kind::query::Query;

use engine::model::timing::Profile;

use crate::customer::{CustomerConfig, CustomerConnection};
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

/// "Are you a customer DX router, and what does your daemon run?" (`cgw-config`'s VIF form).
#[derive(Debug, Clone, Copy)]
pub struct DxRouterConfigOf {
    /// The timing profile.
    pub profile: Profile,
}

impl Query for DxRouterConfigOf {
    type Answer = Result<CustomerConfig, PlanError>;
}
