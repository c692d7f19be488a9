//! GRE decoding of any bytes: the view's accessors after `check_len`, `Repr::parse`, and for
//! whatever parses, emit-then-parse gives the same representation back. Also the outer IPv4
//! header reader, and a GRE packet behind it as the device's receive path takes it.
#![no_main]
use gre::wire::gre::{Packet, Repr};
use gre::wire::ipv4;
use libfuzzer_sys::fuzz_target;

fn gre(data: &[u8]) {
    let p = Packet::new_unchecked(data);
    if p.check_len().is_ok() {
        let _ = (p.checksum(), p.reserved1(), p.key(), p.sequence_number());
        let _ = (
            p.version(),
            p.reserved0(),
            p.protocol(),
            p.verify_checksum(),
        );
        assert_eq!(p.payload().len(), data.len() - p.header_len());
    }
    if let Ok(repr) = Repr::parse(&p) {
        let mut buf = vec![0u8; repr.buffer_len()];
        buf.extend_from_slice(p.payload());
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(Repr::parse(&Packet::new_unchecked(&buf[..])), Ok(repr));
    }
}

fuzz_target!(|data: &[u8]| {
    gre(data);
    if let Ok(h) = ipv4::Header::parse(data) {
        gre(&data[h.payload()]);
    }
});
