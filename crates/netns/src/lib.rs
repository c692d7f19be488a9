//! hybridlab's one privileged crate: network namespaces, veth, bridges, TUN, addresses, routes, processes, cleanup
