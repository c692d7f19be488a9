//! Durations as scenario files write them: `"250ms"`, `"3s"`, `"1.5s"`, `"2m"`, `"1h"`.
//!
//! A unit is required: a bare number is ambiguous (seconds? milliseconds?) and rejected with
//! a message saying how to write it.
//!
//! Where a value depends on the timing profile (a failover gap bound is 3.5 s with the `fast`
//! timers and 31 s with AWS's), a table gives one per profile: `below = { fast = "3.5s",
//! aws = "31s" }`. The parser reads it under the scenario's resolved profile
//! ([`with_profile`]).
//!
//! What it does not do: calendar times or negative durations.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use crate::profile::Profile;

thread_local! {
    static PROFILE: Cell<Profile> = const { Cell::new(Profile::Fast) };
}

/// Runs `f` with per-profile durations read under `profile` (the parser wraps the sections
/// that follow `[timing]` in it).
pub fn with_profile<T>(profile: Profile, f: impl FnOnce() -> T) -> T {
    let before = PROFILE.with(|p| p.replace(profile));
    let out = f();
    PROFILE.with(|p| p.set(before));
    out
}

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration read from a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

/// Parses `"250ms"`, `"3s"`, `"1.5s"`, `"2m"`, `"1h"`, `"500us"`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let hint = "expected a duration with a unit, like \"250ms\", \"3s\", \"1.5s\" or \"2m\"";
    if num.is_empty() {
        return Err(format!("{s:?}: {hint}"));
    }
    let value: f64 = num.parse().map_err(|_| format!("{s:?}: {hint}"))?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("{s:?} has no unit: {hint}")),
        other => return Err(format!("unknown unit {other:?} in {s:?}: {hint}")),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("{s:?} is too long"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Prints a duration the way a person reads it: `850ms`, `3s`, `1.250s`, `2m30s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        if !d.as_micros().is_multiple_of(1000) && ms < 10 {
            return format!("{:.1}ms", d.as_secs_f64() * 1e3);
        }
        return format!("{ms}ms");
    }
    if ms >= 60_000 {
        let s = d.as_secs();
        return if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{}m{}s", s / 60, s % 60)
        };
    }
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration with a unit, like \"250ms\" or \"3s\", or { fast = .., aws = .. }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Dur, E> {
                parse(s).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "{n} has no unit: write a string like \"{n}s\" or \"{n}ms\""
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "{n} has no unit: write a string like \"{n}s\""
                )))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Dur, A::Error> {
                let (mut fast, mut aws) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    let v: Dur = m.next_value()?;
                    match k.as_str() {
                        "fast" => fast = Some(v),
                        "aws" => aws = Some(v),
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "unknown profile `{other}` in a per-profile duration, expected `fast` and `aws`"
                            )));
                        }
                    }
                }
                let (Some(fast), Some(aws)) = (fast, aws) else {
                    return Err(serde::de::Error::custom(
                        "a per-profile duration gives both `fast` and `aws`",
                    ));
                };
                Ok(match PROFILE.with(Cell::get) {
                    Profile::Fast => fast,
                    Profile::Aws => aws,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&human(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn per_profile_durations_follow_the_profile() {
        #[derive(serde::Deserialize)]
        struct T {
            d: Dur,
        }
        let text = r#"d = { fast = "3.5s", aws = "31s" }"#;
        let fast: T = with_profile(Profile::Fast, || toml::from_str(text)).unwrap();
        let aws: T = with_profile(Profile::Aws, || toml::from_str(text)).unwrap();
        assert_eq!(fast.d.0, Duration::from_millis(3500));
        assert_eq!(aws.d.0, Duration::from_secs(31));
        let half: Result<T, _> = toml::from_str(r#"d = { fast = "1s" }"#);
        assert!(half.err().unwrap().to_string().contains("both"));
    }

    #[test]
    fn parses_units() {
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("500us").unwrap(), Duration::from_micros(500));
        assert!(parse("3").unwrap_err().contains("no unit"));
        assert!(parse("3 days").unwrap_err().contains("unknown unit"));
        assert!(parse("").is_err());
        assert!(parse("s").is_err());
    }

    #[test]
    fn prints_for_people() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_secs(3)), "3s");
        assert_eq!(human(Duration::from_millis(1250)), "1.250s");
        assert_eq!(human(Duration::from_secs(150)), "2m30s");
        assert_eq!(human(Duration::from_micros(1500)), "1.5ms");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = parse(&s);
        }

        #[test]
        fn millis_round_trip(ms in 0u64..10_000_000) {
            prop_assert_eq!(parse(&format!("{ms}ms")).unwrap(), Duration::from_millis(ms));
        }
    }
}
