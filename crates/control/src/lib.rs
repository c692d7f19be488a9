//! hybridlab control socket: JSON lines over a Unix socket for show queries and event streams
