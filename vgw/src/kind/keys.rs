//! Where the keys a scenario does not give come from, as the plan and the questions between
//! kinds name it (`super::plan` derives the keys; `super::query::CustomerViewOf` carries it).
//!
//! What it does not do: derive or hold a key itself.

use engine::lab_secret::LabSecret;

/// Where the keys a scenario does not give come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A running lab's secret (`engine::kind::NodeEnv::lab_secret`).
    Lab(LabSecret),
    /// No lab (validation, `hybridlab cgw-config SCENARIO`): a VGW without a `seed` gets
    /// placeholder keys that no lab uses; [`super::node::Vgw::has_random_keys`] says whether
    /// a connection has one, and nothing that prints keys may print them.
    NoLab,
}
