//! Ethernet and 802.1Q decoding of any bytes, as the trunk's receive path meets them: the views'
//! accessors after `check_len`, `Repr::parse` and emit-then-parse identity for both headers,
//! tag removal then insertion giving the frame back, and the classification of the frame with
//! or without a tag the kernel took off (the first four octets, when the first says so).
#![no_main]
use libfuzzer_sys::fuzz_target;
use vlan::classify::{StrippedTag, Verdict, VlanTable, check_tx};
use vlan::wire::ethernet::{self, Frame};
use vlan::wire::vlan::{self as tag, Packet, Repr, TAG_LEN, VlanId};

fn ethernet(data: &[u8]) {
    let f = Frame::new_unchecked(data);
    let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload());
    if let Ok(repr) = ethernet::Repr::parse(&f) {
        let mut buf = data.to_vec();
        repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
        assert_eq!(buf, data);
        tag_header(f.payload());
    }
}

fn tag_header(data: &[u8]) {
    let p = Packet::new_unchecked(data);
    let _ = (p.tci(), p.ethertype(), p.payload());
    assert!(p.pcp() <= 7 && p.vid() <= 4095);
    if let Ok(repr) = Repr::parse(&p) {
        let mut buf = data.to_vec();
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, data);
        assert_eq!(Repr::parse(&Packet::new_unchecked(&buf[..])), Ok(repr));
    }
}

fn untag_and_tag_again(data: &[u8]) {
    let mut buf = data.to_vec();
    if let Ok((repr, at)) = tag::remove_tag(&mut buf) {
        assert_eq!(at, TAG_LEN);
        let start = tag::insert_tag(&mut buf, at, repr.tci).unwrap();
        assert_eq!(start, 0);
        assert_eq!(buf, data);
    }
}

fn classify(table: &VlanTable, frame: &[u8], stripped: Option<StrippedTag>) {
    for wire_len in [frame.len(), frame.len() + 9000] {
        if let Verdict::Deliver { vif, untag_inline } = table.classify_rx(frame, wire_len, stripped)
        {
            let mtu = table.entries()[vif].mtu as usize;
            let untagged = if untag_inline {
                wire_len - TAG_LEN
            } else {
                wire_len
            };
            assert!(untagged <= mtu + ethernet::HEADER_LEN);
            if untag_inline {
                assert!(tag::remove_tag(&mut frame.to_vec()).is_ok());
            }
        }
    }
    let _ = check_tx(frame, 1500);
}

/// VLANs 1 (MTU 68), 100 (1500) and 4094 (8500).
static TABLE: std::sync::OnceLock<VlanTable> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    ethernet(data);
    untag_and_tag_again(data);
    let table = TABLE.get_or_init(|| {
        let mut table = VlanTable::new();
        for (vid, mtu) in [(1, 68), (100, 1500), (4094, 8500)] {
            table.insert(VlanId::new(vid).unwrap(), mtu).unwrap();
        }
        table
    });
    classify(table, data, None);
    if data.len() >= 4 && data[0] & 1 == 1 {
        // Bit 1 of the first octet: the kernel reported a TPID other than 0x8100.
        let tpid = if data[0] & 2 == 0 {
            tag::TPID
        } else {
            u16::from_be_bytes([data[0], data[1]])
        };
        let tci = u16::from_be_bytes([data[2], data[3]]);
        classify(table, &data[4..], Some(StrippedTag { tpid, tci }));
    }
});
