//! hybridlab's scenario engine: the scenario model and parser, node kinds as plug-ins, the
//! runner that brings a lab up, plays its timeline, runs probes and checks expectations, and
//! the reports.
//!
//! - [`source`], [`diagnostic`], [`duration`], [`profile`], [`parse_cx`], [`lab_secret`]: scenario
//!   text, located errors, durations, the timing profile, the parse context every section and
//!   kind uses, and the per-lab secret random keys derive from;
//! - [`model`]: the scenario as data, including what a node of any kind is ([`model::node`]) and
//!   the typed questions nodes answer for each other ([`model::query`]);
//! - [`kind`]: the node-kind plug-in trait, the registry, and the two generic kinds `host` and
//!   `router` (it re-exports the node side of the model, so kinds import from one place);
//! - [`validate`], [`parse`]: from text to a checked [`model::Scenario`];
//! - [`runner`]: bring-up, timeline, probes, expectations, teardown;
//! - [`loss`]: loss windows from probe arrivals (pure);
//! - [`report`]: the run record as a table, JSON, JUnit XML and a timeline picture;
//! - [`capture`]: pcapng captures of a lab's links and TUN devices (AF_PACKET, no tcpdump).
//!
//! Each line above uses only the lines before it (no import circle between modules; `scripts/test`
//! checks it with `import-circles`); the runner, probes and reports are on top.
//!
//! What it does not do: know any AWS gateway by name (the `vgw`, `cgw`, ... packages register
//! their kinds; the `hybridlab` binary in `scenarios/` registers every one), or make privileged
//! system calls (all of them go through `netns`).

pub mod capture;
pub mod diagnostic;
pub mod duration;
pub mod kind;
pub mod lab_secret;
pub mod loss;
pub mod model;
pub mod parse;
pub mod parse_cx;
pub mod probe;
pub mod profile;
pub mod report;
pub mod runner;
pub mod source;
pub mod validate;
