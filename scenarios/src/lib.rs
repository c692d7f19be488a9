//! hybridlab's scenario engine: the scenario model and parser, node kinds as plug-ins, the
//! engine that brings a lab up, plays its timeline, runs probes and checks expectations, and
//! the reports. The `hybridlab` binary (`src/main.rs`) is its command-line face.
//!
//! - [`source`], [`diagnostic`], [`parse`], [`validate`]: from text to a checked [`model::Scenario`];
//! - [`kind`]: node kinds (`host`, `router`, later `vgw`, `cgw`, ...);
//! - [`loss`]: loss windows from probe arrivals (pure);
//! - [`shipped`]: the scenarios embedded in the binary.
//!
//! What it does not do: privileged system calls (all of them go through `netns`).

pub mod diagnostic;
pub mod duration;
pub mod engine;
pub mod kind;
pub mod loss;
pub mod model;
pub mod parse;
pub mod probe;
pub mod report;
pub mod shipped;
pub mod source;
pub mod validate;
