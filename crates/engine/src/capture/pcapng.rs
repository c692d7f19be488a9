//! A minimal pcapng writer (draft-ietf-opsawg-pcapng-02): one Section Header Block, Interface
//! Description Blocks, and one Enhanced Packet Block per packet, little-endian, nanosecond
//! timestamps. Wireshark, tshark and libpcap read it; `tshark -r -` reads it from a pipe, so
//! the same writer serves files (`hybridlab run --capture DIR`) and live streams
//! (`hybridlab capture LAB LINK | wireshark -k -i -`).
//!
//! ```text
//!  SHB  0x0A0D0D0A  len  0x1A2B3C4D  1.0  section length -1          (§4.1)
//!  IDB  1  len  linktype  snaplen  if_name  if_tsresol=9 (ns)          (§4.2)
//!  EPB  6  len  if_id  ts_hi  ts_lo  caplen  origlen  data..pad32      (§4.3)
//! ```
//!
//! What it does not do: read pcapng, write Simple Packet, Name Resolution or statistics
//! blocks, or compress.

use std::io::{self, Write};

/// LINKTYPE_ETHERNET: frames with their Ethernet header (a veth).
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_RAW: bare IPv4/IPv6 packets (a TUN device).
pub const LINKTYPE_RAW: u16 = 101;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Option codes (§3.5, §4.2).
const OPT_ENDOFOPT: u16 = 0;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + pad4(value.len()), 0);
}

/// Frames a block: type, total length, body (already padded), total length again (§3.1).
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

/// Writes one pcapng section to `W`.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: u32,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section (writes its header block).
    pub fn new(mut out: W) -> io::Result<PcapngWriter<W>> {
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        // Section length unknown (-1): the file is written as packets come.
        body.extend_from_slice(&(-1i64).to_le_bytes());
        out.write_all(&block(SHB, &body))?;
        Ok(PcapngWriter { out, interfaces: 0 })
    }

    /// Describes an interface; its packets name it by the returned id.
    pub fn add_interface(&mut self, name: &str, linktype: u16, snaplen: u32) -> io::Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&snaplen.to_le_bytes());
        option(&mut body, IF_NAME, name.as_bytes());
        // Timestamps in units of 10^-9 s.
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_ENDOFOPT, &[]);
        self.out.write_all(&block(IDB, &body))?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet captured on `interface` at `ts_ns` (ns since the Unix epoch);
    /// `orig_len` is its length on the wire (more than `data` when it was cut short).
    pub fn packet(
        &mut self,
        interface: u32,
        ts_ns: u64,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("pcapng: no interface {interface}"),
            ));
        }
        let mut body = Vec::with_capacity(20 + data.len() + 3);
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_ns as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(orig_len.max(data.len()) as u32).to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len() + pad4(data.len()), 0);
        self.out.write_all(&block(EPB, &body))
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
    }

    /// Walks the blocks: each starts with its type and total length, ends with the same
    /// length, and is a multiple of 4 octets long.
    fn blocks(b: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let (kind, len) = (u32_at(b, i), u32_at(b, i + 4) as usize);
            assert_eq!(len % 4, 0, "block at {i} is {len} octets");
            assert_eq!(u32_at(b, i + len - 4) as usize, len, "trailing length");
            out.push((kind, b[i + 8..i + len - 4].to_vec()));
            i += len;
        }
        out
    }

    /// An IPv4/UDP packet (checksums zero: valid for UDP over IPv4, RFC 768).
    fn udp_packet() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 33, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x40, 0x1f,
            0x41, 0, 13, 0, 0,
        ];
        p.extend_from_slice(b"hello");
        // IPv4 header checksum (RFC 791 §3.1).
        let mut sum = 0u32;
        for w in p[..20].chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        p
    }

    fn sample() -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        let eth = w.add_interface("wan", LINKTYPE_ETHERNET, 65535).unwrap();
        let raw = w.add_interface("vti1", LINKTYPE_RAW, 65535).unwrap();
        let ip = udp_packet();
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        w.packet(eth, 1_700_000_000_123_456_789, &frame, frame.len())
            .unwrap();
        w.packet(raw, 1_700_000_000_223_456_789, &ip, ip.len())
            .unwrap();
        assert!(w.packet(7, 0, &ip, ip.len()).is_err());
        w.into_inner()
    }

    #[test]
    fn blocks_are_framed_and_padded() {
        let b = sample();
        let bl = blocks(&b);
        let kinds: Vec<u32> = bl.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![SHB, IDB, IDB, EPB, EPB]);
        assert_eq!(u32_at(&bl[0].1, 0), BYTE_ORDER_MAGIC);
        assert_eq!(
            u16::from_le_bytes([bl[1].1[0], bl[1].1[1]]),
            LINKTYPE_ETHERNET
        );
        assert_eq!(u16::from_le_bytes([bl[2].1[0], bl[2].1[1]]), LINKTYPE_RAW);
        // EPB: interface 1, timestamp split in two words, lengths, 33 octets padded to 36.
        let epb = &bl[4].1;
        assert_eq!(u32_at(epb, 0), 1);
        let ts = (u64::from(u32_at(epb, 4)) << 32) | u64::from(u32_at(epb, 8));
        assert_eq!(ts, 1_700_000_000_223_456_789);
        assert_eq!((u32_at(epb, 12), u32_at(epb, 16)), (33, 33));
        assert_eq!(epb.len(), 20 + 36);
    }

    /// tshark (Wireshark's reader) reads the file: both packets, decoded as UDP, with the
    /// interface names and nanosecond times written. Fails when tshark is missing
    /// (scripts/test installs it).
    #[test]
    fn tshark_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcapng");
        std::fs::write(&path, sample()).unwrap();
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .args([
                "-T",
                "fields",
                "-e",
                "frame.interface_name",
                "-e",
                "frame.time_epoch",
                "-e",
                "udp.dstport",
                "-e",
                "_ws.malformed",
            ])
            .output()
            .expect("tshark is needed (apt-get install tshark)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("wan\t1700000000.123456789\t8001"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("vti1\t1700000000.223456789\t8001"),
            "{text}"
        );
        assert!(!text.contains("_ws.malformed") && lines.iter().all(|l| l.ends_with('\t')));
    }
}
