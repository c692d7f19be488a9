//! hybridlab BGP-4 speaker: wire codec, sans-IO session FSM, RIBs, tokio driver
