//! Any scenario text: parsing and validation return a scenario or located diagnostics, never
//! panic, and every diagnostic's position lies inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use engine::parse::parse_scenario;
use engine::source::Source;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.lines().count().max(1) + 1;
    if let Err(d) = parse_scenario(&Source::new("fuzz.toml", text), &scenarios::registry()) {
        for e in d.0 {
            assert!(e.position.line >= 1 && e.position.line <= lines);
            let _ = e.to_string();
        }
    }
});
