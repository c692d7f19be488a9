//! The BFD Control packet (RFC 5880 §4.1) as a zero-copy view over a byte buffer, and its
//! validated high-level representation.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Vers  |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |(3 bit)| (5 bit) |   | | | | | | |               |               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval  (microseconds)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval  (microseconds)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval (microseconds)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |   only when A = 1 (§4.2-4.4)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!   P Poll, F Final, C Control Plane Independent, A Authentication Present, D Demand,
//!   M Multipoint (reserved, must be 0).
//! ```
//!
//! [`Packet`] reads and writes fields in place. [`Packet::check_len`] (or
//! [`Packet::new_checked`]) guarantees the buffer holds the 24-octet mandatory section, and the
//! two octets of the authentication header when the A bit is set; **after it succeeded no
//! accessor panics**, whatever the bytes are. Setters need the same length.
//!
//! [`Repr::parse`] applies every check of RFC 5880 §6.8.6 that needs only the packet itself, in
//! the RFC's order:
//!
//! 1. version is 1 ([`WireError::BadVersion`]);
//! 2. Length is at least 24, or 26 with the A bit ([`WireError::BadLength`]);
//! 3. Length is not larger than the UDP payload ([`WireError::LengthExceedsPayload`]);
//! 4. Detect Mult is not zero ([`WireError::ZeroDetectMult`]);
//! 5. the Multipoint bit is zero ([`WireError::Multipoint`]);
//! 6. My Discriminator is not zero ([`WireError::ZeroMyDiscriminator`]);
//! 7. (session lookup by Your Discriminator: the driver's demultiplexer);
//! 8. Your Discriminator is zero only in Down or AdminDown ([`WireError::ZeroYourDiscriminator`]);
//! 9. A bit set while authentication is not in use: discarded ([`WireError::AuthNotConfigured`]),
//!    after the authentication section's own length rules (§4.2-§4.4) were checked
//!    ([`WireError::BadAuthLength`]), so a malformed section is counted as malformed.
//!
//! Octets after Length (UDP payload longer than the BFD packet) are ignored.
//!
//! What it does not do: authentication (bfd.AuthType is always 0 here; AWS Direct Connect uses
//! none), so a [`Repr`] never carries an authentication section and step 10 (A bit clear while
//! authentication is in use) cannot happen; session state (see [`crate::session`]); Echo packets.

use std::fmt;

/// Octets of the mandatory section; the Length of every packet this crate emits.
pub const HEADER_LEN: usize = 24;
/// Smallest packet with the A bit set: the mandatory section plus Auth Type and Auth Len.
pub const MIN_AUTH_LEN: usize = HEADER_LEN + 2;
/// The BFD protocol version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;

mod field {
    use std::ops::Range;
    pub const VERS_DIAG: usize = 0;
    pub const STA_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: Range<usize> = 4..8;
    pub const YOUR_DISCR: Range<usize> = 8..12;
    pub const DESIRED_MIN_TX: Range<usize> = 12..16;
    pub const REQUIRED_MIN_RX: Range<usize> = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: Range<usize> = 20..24;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPI: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// Why a received packet was dropped. Every variant is counted by the driver under
/// [`WireError::reason`]; none of them is ever a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer is shorter than the fixed part the view needs (24 octets, 26 with the A bit).
    #[error("packet of {len} octets is shorter than the {needed} the header needs")]
    Truncated {
        /// Octets received.
        len: usize,
        /// Octets needed.
        needed: usize,
    },
    /// §6.8.6: the version is not 1.
    #[error("BFD version {0}, expected 1")]
    BadVersion(u8),
    /// §6.8.6: Length is below 24 (26 with the A bit).
    #[error("Length field {length} is below the minimum {min}")]
    BadLength {
        /// The Length field.
        length: u8,
        /// The minimum for this packet.
        min: u8,
    },
    /// §6.8.6: Length is larger than the UDP payload.
    #[error("Length field {length} exceeds the {payload} octets received")]
    LengthExceedsPayload {
        /// The Length field.
        length: u8,
        /// UDP payload octets.
        payload: usize,
    },
    /// §6.8.6: Detect Mult is zero.
    #[error("Detect Mult is zero")]
    ZeroDetectMult,
    /// §6.8.6: the Multipoint bit is set.
    #[error("Multipoint bit is set")]
    Multipoint,
    /// §6.8.6: My Discriminator is zero.
    #[error("My Discriminator is zero")]
    ZeroMyDiscriminator,
    /// §6.8.6: Your Discriminator is zero while State is Init or Up.
    #[error("Your Discriminator is zero in state {0}")]
    ZeroYourDiscriminator(State),
    /// §4.2-§4.4: the authentication section's Auth Len is wrong for its type or does not fit
    /// in Length.
    #[error(
        "authentication section of type {auth_type} with Auth Len {auth_len} in a {length}-octet packet"
    )]
    BadAuthLength {
        /// Auth Type.
        auth_type: AuthType,
        /// Auth Len.
        auth_len: u8,
        /// Length field.
        length: u8,
    },
    /// §6.8.6: the A bit is set but authentication is not in use on this system.
    #[error("authentication present ({0}) but not configured")]
    AuthNotConfigured(AuthType),
}

impl WireError {
    /// Short stable name for counters and logs (`snake_case`).
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Truncated { .. } => "truncated",
            WireError::BadVersion(_) => "bad_version",
            WireError::BadLength { .. } => "bad_length",
            WireError::LengthExceedsPayload { .. } => "length_exceeds_payload",
            WireError::ZeroDetectMult => "zero_detect_mult",
            WireError::Multipoint => "multipoint",
            WireError::ZeroMyDiscriminator => "zero_my_discriminator",
            WireError::ZeroYourDiscriminator(_) => "zero_your_discriminator",
            WireError::BadAuthLength { .. } => "bad_auth_length",
            WireError::AuthNotConfigured(_) => "auth_not_configured",
        }
    }
}

/// Session state as carried in the Sta field (RFC 5880 §4.1). All four 2-bit values are
/// defined, so there is no unknown arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum State {
    /// 0: AdminDown.
    AdminDown,
    /// 1: Down.
    Down,
    /// 2: Init.
    Init,
    /// 3: Up.
    Up,
}

impl State {
    /// From the 2-bit field (higher bits ignored).
    pub fn from_bits(bits: u8) -> State {
        match bits & 0x3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The 2-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// Name as in the RFC.
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Diagnostic codes (RFC 5880 §4.1): the local system's reason for the last change in session
/// state. Codes RFC 5880 does not define are kept as [`Diag::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Diag {
    /// 0: No Diagnostic.
    NoDiagnostic,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9-31: not defined by RFC 5880 (IANA has since given 9 to RFC 6428's Mis-Connectivity
    /// Defect, an MPLS-TP code; 10-31 are unassigned). The 5-bit value is kept.
    Unknown(u8),
}

impl Diag {
    /// From the 5-bit field (higher bits ignored).
    pub fn from_bits(bits: u8) -> Diag {
        match bits & 0x1f {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Unknown(n),
        }
    }

    /// The 5-bit wire value (an `Unknown` value above 31 is truncated to 5 bits).
    pub fn bits(self) -> u8 {
        match self {
            Diag::NoDiagnostic => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unknown(n) => n & 0x1f,
        }
    }

    /// Name as in the RFC.
    pub fn name(self) -> &'static str {
        match self {
            Diag::NoDiagnostic => "No Diagnostic",
            Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
            Diag::EchoFunctionFailed => "Echo Function Failed",
            Diag::NeighborSignaledSessionDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdministrativelyDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
            Diag::Unknown(_) => "Unknown",
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::Unknown(n) => write!(f, "Unknown ({n})"),
            d => f.write_str(d.name()),
        }
    }
}

/// Authentication types (RFC 5880 §4.1); only read, to validate and count packets we drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AuthType {
    /// 1: Simple Password (§4.2).
    SimplePassword,
    /// 2: Keyed MD5 (§4.3).
    KeyedMd5,
    /// 3: Meticulous Keyed MD5 (§4.3).
    MeticulousKeyedMd5,
    /// 4: Keyed SHA1 (§4.4).
    KeyedSha1,
    /// 5: Meticulous Keyed SHA1 (§4.4).
    MeticulousKeyedSha1,
    /// 0 (reserved) and 6-255 (unassigned).
    Unknown(u8),
}

impl AuthType {
    /// From the wire value.
    pub fn from_code(code: u8) -> AuthType {
        match code {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            n => AuthType::Unknown(n),
        }
    }

    /// Allowed Auth Len values for the type: §4.2 (password of 1-16 octets plus Type, Len and
    /// Key ID), §4.3 (24), §4.4 (28). `None` for unknown types (any length of at least 2).
    fn auth_len_range(self) -> Option<(u8, u8)> {
        match self {
            AuthType::SimplePassword => Some((4, 19)),
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Some((24, 24)),
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Some((28, 28)),
            AuthType::Unknown(_) => None,
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthType::SimplePassword => f.write_str("Simple Password"),
            AuthType::KeyedMd5 => f.write_str("Keyed MD5"),
            AuthType::MeticulousKeyedMd5 => f.write_str("Meticulous Keyed MD5"),
            AuthType::KeyedSha1 => f.write_str("Keyed SHA1"),
            AuthType::MeticulousKeyedSha1 => f.write_str("Meticulous Keyed SHA1"),
            AuthType::Unknown(n) => write!(f, "Unknown ({n})"),
        }
    }
}

/// A read (and, for `AsMut`, write) view of a BFD Control packet (the UDP payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Accessors may panic on a short buffer; call
    /// [`Packet::check_len`] before trusting it, or use [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks it is long enough for every accessor.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer holds the mandatory section (24 octets) and, when the A bit is set, the
    /// Auth Type and Auth Len octets (26). After this succeeded no accessor panics.
    ///
    /// It does not look at the Length field: that is a protocol check of [`Repr::parse`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated {
                len,
                needed: HEADER_LEN,
            });
        }
        if self.auth_present() && len < MIN_AUTH_LEN {
            return Err(WireError::Truncated {
                len,
                needed: MIN_AUTH_LEN,
            });
        }
        Ok(())
    }

    fn u32_at(&self, range: std::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[range];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::STA_FLAGS]
    }

    /// Vers: the protocol version.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERS_DIAG] >> 5
    }

    /// Diag.
    pub fn diag(&self) -> Diag {
        Diag::from_bits(self.buffer.as_ref()[field::VERS_DIAG])
    }

    /// Sta.
    pub fn state(&self) -> State {
        State::from_bits(self.flags() >> 6)
    }

    /// P: Poll.
    pub fn poll(&self) -> bool {
        self.flags() & flag::POLL != 0
    }

    /// F: Final.
    pub fn final_(&self) -> bool {
        self.flags() & flag::FINAL != 0
    }

    /// C: Control Plane Independent.
    pub fn control_plane_independent(&self) -> bool {
        self.flags() & flag::CPI != 0
    }

    /// A: Authentication Present.
    pub fn auth_present(&self) -> bool {
        self.buffer
            .as_ref()
            .get(field::STA_FLAGS)
            .is_some_and(|f| f & flag::AUTH != 0)
    }

    /// D: Demand.
    pub fn demand(&self) -> bool {
        self.flags() & flag::DEMAND != 0
    }

    /// M: Multipoint (reserved, must be zero).
    pub fn multipoint(&self) -> bool {
        self.flags() & flag::MULTIPOINT != 0
    }

    /// Detect Mult.
    pub fn detect_mult(&self) -> u8 {
        self.buffer.as_ref()[field::DETECT_MULT]
    }

    /// Length: of the whole BFD packet, in octets.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// My Discriminator.
    pub fn my_discriminator(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }

    /// Your Discriminator.
    pub fn your_discriminator(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }

    /// Desired Min TX Interval, microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }

    /// Required Min RX Interval, microseconds.
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }

    /// Required Min Echo RX Interval, microseconds.
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }

    /// Auth Type and Auth Len when the A bit is set, `None` otherwise.
    pub fn auth_header(&self) -> Option<(AuthType, u8)> {
        if !self.auth_present() {
            return None;
        }
        let b = self.buffer.as_ref();
        Some((AuthType::from_code(b[field::AUTH_TYPE]), b[field::AUTH_LEN]))
    }

    /// The whole buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u32_at(&mut self, range: std::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[range].copy_from_slice(&v.to_be_bytes());
    }

    fn set_flag(&mut self, bit: u8, on: bool) {
        let b = &mut self.buffer.as_mut()[field::STA_FLAGS];
        if on {
            *b |= bit;
        } else {
            *b &= !bit;
        }
    }

    /// Sets Vers and Diag.
    pub fn set_version_diag(&mut self, version: u8, diag: Diag) {
        self.buffer.as_mut()[field::VERS_DIAG] = (version << 5) | diag.bits();
    }

    /// Sets Sta, keeping the flags.
    pub fn set_state(&mut self, state: State) {
        let b = &mut self.buffer.as_mut()[field::STA_FLAGS];
        *b = (*b & 0x3f) | (state.bits() << 6);
    }

    /// Sets P.
    pub fn set_poll(&mut self, on: bool) {
        self.set_flag(flag::POLL, on);
    }

    /// Sets F.
    pub fn set_final(&mut self, on: bool) {
        self.set_flag(flag::FINAL, on);
    }

    /// Sets C.
    pub fn set_control_plane_independent(&mut self, on: bool) {
        self.set_flag(flag::CPI, on);
    }

    /// Sets A (the caller then owns the authentication section).
    pub fn set_auth_present(&mut self, on: bool) {
        self.set_flag(flag::AUTH, on);
    }

    /// Sets D.
    pub fn set_demand(&mut self, on: bool) {
        self.set_flag(flag::DEMAND, on);
    }

    /// Sets M.
    pub fn set_multipoint(&mut self, on: bool) {
        self.set_flag(flag::MULTIPOINT, on);
    }

    /// Sets Detect Mult.
    pub fn set_detect_mult(&mut self, v: u8) {
        self.buffer.as_mut()[field::DETECT_MULT] = v;
    }

    /// Sets Length.
    pub fn set_length(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }

    /// Sets My Discriminator.
    pub fn set_my_discriminator(&mut self, v: u32) {
        self.set_u32_at(field::MY_DISCR, v);
    }

    /// Sets Your Discriminator.
    pub fn set_your_discriminator(&mut self, v: u32) {
        self.set_u32_at(field::YOUR_DISCR, v);
    }

    /// Sets Desired Min TX Interval (microseconds).
    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.set_u32_at(field::DESIRED_MIN_TX, v);
    }

    /// Sets Required Min RX Interval (microseconds).
    pub fn set_required_min_rx(&mut self, v: u32) {
        self.set_u32_at(field::REQUIRED_MIN_RX, v);
    }

    /// Sets Required Min Echo RX Interval (microseconds).
    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.set_u32_at(field::REQUIRED_MIN_ECHO_RX, v);
    }
}

/// A validated, unauthenticated BFD Control packet.
///
/// Invariants after [`Repr::parse`]: `detect_mult != 0`, `my_discriminator != 0`,
/// `your_discriminator != 0` unless `state` is Down or AdminDown. [`Repr::emit`] writes what it
/// is given (the session builds valid packets; `Repr::check` tells whether a hand-built one is).
/// P and F both set is representable (RFC 5880 §6.5 forbids sending it, not receiving it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Diag.
    pub diag: Diag,
    /// Sta.
    pub state: State,
    /// P: Poll.
    pub poll: bool,
    /// F: Final.
    pub final_: bool,
    /// C: Control Plane Independent.
    pub control_plane_independent: bool,
    /// D: Demand.
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, microseconds (0: no Echo function).
    pub required_min_echo_rx: u32,
}

impl Repr {
    /// Parses and validates a packet (RFC 5880 §6.8.6 steps 1-6, 8 and 9; see the module
    /// documentation). Never panics, whatever the buffer holds.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        packet.check_len()?;
        if packet.version() != VERSION {
            return Err(WireError::BadVersion(packet.version()));
        }
        let length = packet.length();
        let auth = packet.auth_header();
        let min = if auth.is_some() {
            MIN_AUTH_LEN
        } else {
            HEADER_LEN
        } as u8;
        if length < min {
            return Err(WireError::BadLength { length, min });
        }
        let payload = packet.buffer.as_ref().len();
        if usize::from(length) > payload {
            return Err(WireError::LengthExceedsPayload { length, payload });
        }
        if packet.detect_mult() == 0 {
            return Err(WireError::ZeroDetectMult);
        }
        if packet.multipoint() {
            return Err(WireError::Multipoint);
        }
        if packet.my_discriminator() == 0 {
            return Err(WireError::ZeroMyDiscriminator);
        }
        let state = packet.state();
        if packet.your_discriminator() == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(WireError::ZeroYourDiscriminator(state));
        }
        if let Some((auth_type, auth_len)) = auth {
            let fits = usize::from(auth_len) + HEADER_LEN <= usize::from(length);
            let typed = match auth_type.auth_len_range() {
                Some((lo, hi)) => (lo..=hi).contains(&auth_len),
                None => auth_len >= 2,
            };
            if !fits || !typed {
                return Err(WireError::BadAuthLength {
                    auth_type,
                    auth_len,
                    length,
                });
            }
            return Err(WireError::AuthNotConfigured(auth_type));
        }
        Ok(Repr {
            diag: packet.diag(),
            state,
            poll: packet.poll(),
            final_: packet.final_(),
            control_plane_independent: packet.control_plane_independent(),
            demand: packet.demand(),
            detect_mult: packet.detect_mult(),
            my_discriminator: packet.my_discriminator(),
            your_discriminator: packet.your_discriminator(),
            desired_min_tx: packet.desired_min_tx(),
            required_min_rx: packet.required_min_rx(),
            required_min_echo_rx: packet.required_min_echo_rx(),
        })
    }

    /// Parses a UDP payload (shorthand for [`Packet::new_checked`] and [`Repr::parse`]).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr, WireError> {
        Repr::parse(&Packet::new_unchecked(bytes))
    }

    /// Whether the packet would pass [`Repr::parse`]'s checks (a hand-built one may not).
    pub fn check(&self) -> Result<(), WireError> {
        let mut buf = [0u8; HEADER_LEN];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        Repr::parse_bytes(&buf).map(|_| ())
    }

    /// Octets [`Repr::emit`] writes: always [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the packet into the first [`HEADER_LEN`] octets of `packet` (which must hold at
    /// least that many: panics otherwise, like every setter). Version 1, A and M clear,
    /// Length 24.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version_diag(VERSION, self.diag);
        packet.buffer.as_mut()[field::STA_FLAGS] = 0;
        packet.set_state(self.state);
        packet.set_poll(self.poll);
        packet.set_final(self.final_);
        packet.set_control_plane_independent(self.control_plane_independent);
        packet.set_demand(self.demand);
        packet.set_detect_mult(self.detect_mult);
        packet.set_length(HEADER_LEN as u8);
        packet.set_my_discriminator(self.my_discriminator);
        packet.set_your_discriminator(self.your_discriminator);
        packet.set_desired_min_tx(self.desired_min_tx);
        packet.set_required_min_rx(self.required_min_rx);
        packet.set_required_min_echo_rx(self.required_min_echo_rx);
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Repr {
        Repr {
            diag: Diag::NoDiagnostic,
            state: State::Up,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0x0a0b_0c0d,
            desired_min_tx: 300_000,
            required_min_rx: 300_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn fields_land_where_the_rfc_draws_them() {
        let b = up().to_bytes();
        assert_eq!(
            hex(&b),
            "20c00318010203040a0b0c0d000493e0000493e000000000",
            "vers 1 diag 0 | Up, no flags | mult 3 | len 24 | discriminators | 300 ms | 300 ms | 0"
        );
        let mut r = up();
        r.poll = true;
        r.diag = Diag::AdministrativelyDown;
        assert_eq!(&hex(&r.to_bytes())[..4], "27e0");
        r.poll = false;
        r.final_ = true;
        r.control_plane_independent = true;
        r.demand = true;
        assert_eq!(&hex(&r.to_bytes())[..4], "27da");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn round_trip_and_accessors() {
        let r = up();
        let b = r.to_bytes();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 1);
        assert_eq!(p.length(), 24);
        assert_eq!(p.auth_header(), None);
        assert_eq!(Repr::parse(&p), Ok(r));
        assert_eq!(r.buffer_len(), 24);
        assert_eq!(r.check(), Ok(()));
    }

    #[test]
    fn setters_keep_neighbouring_bits() {
        let mut b = up().to_bytes();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_poll(true);
        p.set_state(State::Init);
        p.set_multipoint(true);
        p.set_multipoint(false);
        assert!(p.poll() && !p.final_() && p.state() == State::Init && !p.multipoint());
    }

    #[test]
    fn short_buffers_are_truncated_not_panics() {
        for len in 0..HEADER_LEN {
            let b = vec![0x20u8; len];
            assert_eq!(
                Packet::new_checked(&b[..]).unwrap_err(),
                WireError::Truncated {
                    len,
                    needed: HEADER_LEN
                }
            );
            assert!(Repr::parse_bytes(&b).is_err());
        }
        let mut b = up().to_bytes().to_vec();
        b[1] |= flag::AUTH;
        b.push(1);
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            WireError::Truncated {
                len: 25,
                needed: 26
            }
        );
    }

    fn with(f: impl FnOnce(&mut Packet<&mut [u8]>)) -> Result<Repr, WireError> {
        let mut b = [0u8; 40];
        up().emit(&mut Packet::new_unchecked(&mut b[..]));
        let mut p = Packet::new_unchecked(&mut b[..]);
        f(&mut p);
        let len = usize::from(p.length()).max(HEADER_LEN);
        Repr::parse_bytes(&b[..len.min(40)])
    }

    #[test]
    fn reception_checks_in_rfc_order() {
        assert_eq!(
            with(|p| p.set_version_diag(2, Diag::NoDiagnostic)),
            Err(WireError::BadVersion(2))
        );
        assert_eq!(
            with(|p| p.set_length(23)),
            Err(WireError::BadLength {
                length: 23,
                min: 24
            })
        );
        assert_eq!(
            Repr::parse_bytes(&{
                let mut b = up().to_bytes();
                b[3] = 30;
                b
            }),
            Err(WireError::LengthExceedsPayload {
                length: 30,
                payload: 24
            })
        );
        assert_eq!(
            with(|p| p.set_detect_mult(0)),
            Err(WireError::ZeroDetectMult)
        );
        assert_eq!(with(|p| p.set_multipoint(true)), Err(WireError::Multipoint));
        assert_eq!(
            with(|p| p.set_my_discriminator(0)),
            Err(WireError::ZeroMyDiscriminator)
        );
        for (state, ok) in [
            (State::AdminDown, true),
            (State::Down, true),
            (State::Init, false),
            (State::Up, false),
        ] {
            let r = with(|p| {
                p.set_your_discriminator(0);
                p.set_state(state);
            });
            assert_eq!(r.is_ok(), ok, "{state}: {r:?}");
            if !ok {
                assert_eq!(r, Err(WireError::ZeroYourDiscriminator(state)));
            }
        }
        // Two failures at once: the earlier check in §6.8.6 wins.
        assert_eq!(
            with(|p| {
                p.set_detect_mult(0);
                p.set_my_discriminator(0);
            }),
            Err(WireError::ZeroDetectMult)
        );
    }

    #[test]
    fn longer_payload_than_length_is_accepted() {
        let mut b = up().to_bytes().to_vec();
        b.extend_from_slice(&[0xee; 8]);
        assert_eq!(Repr::parse_bytes(&b), Ok(up()));
    }

    fn auth_packet(auth_type: u8, auth_len: u8, length: u8) -> Vec<u8> {
        let mut b = up().to_bytes().to_vec();
        b[1] |= flag::AUTH;
        b[3] = length;
        b.resize(usize::from(length).max(MIN_AUTH_LEN), 0);
        b[24] = auth_type;
        b[25] = auth_len;
        b
    }

    #[test]
    fn authentication_is_checked_then_refused() {
        // Well-formed sections of every type: dropped because we do not authenticate.
        for (t, l, at) in [
            (1u8, 7u8, AuthType::SimplePassword),
            (2, 24, AuthType::KeyedMd5),
            (3, 24, AuthType::MeticulousKeyedMd5),
            (4, 28, AuthType::KeyedSha1),
            (5, 28, AuthType::MeticulousKeyedSha1),
            (9, 2, AuthType::Unknown(9)),
        ] {
            let b = auth_packet(t, l, 24 + l);
            assert_eq!(Repr::parse_bytes(&b), Err(WireError::AuthNotConfigured(at)));
            assert_eq!(
                Packet::new_checked(&b[..]).unwrap().auth_header(),
                Some((at, l))
            );
        }
        // Malformed sections: counted as malformed.
        for (t, l, length) in [
            (1u8, 3u8, 27u8),
            (1, 20, 44),
            (2, 20, 44),
            (4, 24, 52),
            (2, 24, 40),
            (7, 1, 26),
        ] {
            let b = auth_packet(t, l, length);
            assert!(
                matches!(Repr::parse_bytes(&b), Err(WireError::BadAuthLength { .. })),
                "type {t} len {l} length {length}: {:?}",
                Repr::parse_bytes(&b)
            );
        }
        // Length 24 with the A bit is below the 26 minimum.
        let b = auth_packet(2, 24, 24);
        assert_eq!(
            Repr::parse_bytes(&b),
            Err(WireError::BadLength {
                length: 24,
                min: 26
            })
        );
    }

    #[test]
    fn diag_and_state_codes() {
        for n in 0..32u8 {
            assert_eq!(Diag::from_bits(n).bits(), n);
        }
        assert_eq!(Diag::from_bits(7), Diag::AdministrativelyDown);
        assert_eq!(Diag::from_bits(9), Diag::Unknown(9));
        assert_eq!(Diag::Unknown(9).to_string(), "Unknown (9)");
        for n in 0..4u8 {
            assert_eq!(State::from_bits(n).bits(), n);
        }
        assert_eq!(WireError::ZeroDetectMult.reason(), "zero_detect_mult");
    }
}
