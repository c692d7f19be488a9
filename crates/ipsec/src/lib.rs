//! hybridlab IPsec: IKEv2 (sans-IO), ESP-in-UDP data plane over TUN
