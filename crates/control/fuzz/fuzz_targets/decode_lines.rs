//! Any bytes a peer writes on the control socket: both line decoders must return, never panic,
//! and whatever decodes must re-encode to a line that decodes to the same value.
#![no_main]

use control::protocol::{Request, ServerLine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(r) = Request::decode(&line) {
        assert_eq!(Request::decode(&r.encode()).ok(), Some(r));
    }
    if let Ok(l) = ServerLine::decode(&line) {
        assert_eq!(ServerLine::decode(&l.encode()).ok(), Some(l));
    }
});
