//! `hybridlab`: run, validate, list, show and tear down emulated AWS hybrid-connectivity labs.
fn main() {}
