//! hybridlab's one privileged crate: network namespaces, veth, bridges, TUN, addresses, routes, processes, cleanup

// Minimal pieces added by the BGP work (issue #3); see each module's header.
pub mod clock;
pub mod route_batch;
pub mod tcp_sockopt;
