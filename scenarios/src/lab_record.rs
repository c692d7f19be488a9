//! What a running lab keeps about itself in its state directory, for the commands that work
//! on a running lab rather than on a scenario file (`hybridlab cgw-config LAB CONNECTION`):
//! the scenario's text as it was run (`scenario.toml`) and the timing profile it runs with
//! (`run.json`; `lab.json` beside it is `netns::lab`'s record of what the lab created). Both
//! are written before the lab's nodes are created and go with the lab directory on `down` or
//! the crash sweep.
//!
//! The copy may hold keys the scenario gives (`pre_shared_key`): it is written 0600 inside the
//! lab directory, which is 0700 (`netns::lab`), like the daemons' configuration files beside it.
//!
//! What it does not do: hold anything the lab decides at run time (keys drawn per lab stay in
//! the daemons; ask them over their control sockets).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use engine::model::timing::Profile;
use engine::source::Source;
use serde::{Deserialize, Serialize};

const SCENARIO_FILE: &str = "scenario.toml";
const RECORD_FILE: &str = "run.json";

#[derive(Serialize, Deserialize)]
struct Record {
    /// The name the scenario was run by (a path or `<shipped>/NAME.toml`).
    source: String,
    /// `fast` or `aws`.
    profile: String,
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Records the scenario `source` run with `profile` in `lab_dir`.
pub fn save(lab_dir: &Path, source: &Source, profile: Profile) -> Result<(), String> {
    fs::create_dir_all(lab_dir).map_err(|e| format!("cannot create {}: {e}", lab_dir.display()))?;
    write_private(&lab_dir.join(SCENARIO_FILE), &source.text)?;
    let record = Record {
        source: source.name.clone(),
        profile: match profile {
            Profile::Aws => "aws",
            Profile::Fast => "fast",
        }
        .to_string(),
    };
    let json = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?;
    write_private(&lab_dir.join(RECORD_FILE), &json)
}

/// The scenario a running lab was started from, named as it was run, and its profile; `None`
/// when `lab_dir` holds no record (no such lab, or one started by an older hybridlab).
pub fn load(lab_dir: &Path) -> Result<Option<(Source, Profile)>, String> {
    let record_path = lab_dir.join(RECORD_FILE);
    if !record_path.exists() {
        return Ok(None);
    }
    let read =
        |p: &Path| fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let record: Record = serde_json::from_str(&read(&record_path)?)
        .map_err(|e| format!("{}: {e}", record_path.display()))?;
    let profile = match record.profile.as_str() {
        "aws" => Profile::Aws,
        "fast" => Profile::Fast,
        other => {
            return Err(format!(
                "{}: unknown profile {other:?}",
                record_path.display()
            ));
        }
    };
    let text = read(&lab_dir.join(SCENARIO_FILE))?;
    Ok(Some((Source::new(record.source, text), profile)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_private() {
        let dir = std::env::temp_dir().join(format!("hl-lab-record-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert!(load(&dir).unwrap().is_none());
        let source = Source::new("x.toml", "[scenario]\nname = \"x\"\n");
        save(&dir, &source, Profile::Aws).unwrap();
        let (back, profile) = load(&dir).unwrap().unwrap();
        assert_eq!(
            (back.name.as_str(), back.text.as_str()),
            ("x.toml", source.text.as_str())
        );
        assert_eq!(profile, Profile::Aws);
        let mode = fs::metadata(dir.join(SCENARIO_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }
}
