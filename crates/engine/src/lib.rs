//! hybridlab's scenario engine: the scenario model and parser, node kinds as plug-ins, the
//! runner that brings a lab up, plays its timeline, runs probes and checks expectations, and
//! the reports.
//!
//! - [`source`], [`diagnostic`], [`parse`], [`validate`]: from text to a checked [`model::Scenario`];
//! - [`kind`]: the node-kind plug-in trait, the registry, the typed queries kinds answer for each
//!   other ([`kind::query`]), and the two generic kinds `host` and `router`;
//! - [`runner`]: bring-up, timeline, probes, expectations, teardown;
//! - [`loss`]: loss windows from probe arrivals (pure);
//! - [`report`]: the run record as a table, JSON, JUnit XML and a timeline picture.
//!
//! What it does not do: know any AWS gateway by name (the `vgw`, `cgw`, ... packages register
//! their kinds; the `hybridlab` binary in `scenarios/` registers every one), or make privileged
//! system calls (all of them go through `netns`).

pub mod diagnostic;
pub mod duration;
pub mod kind;
pub mod loss;
pub mod model;
pub mod parse;
pub mod probe;
pub mod report;
pub mod runner;
pub mod source;
pub mod validate;
