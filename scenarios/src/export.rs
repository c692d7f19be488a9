//! `hybridlab export compose|containerlab SCENARIO`: a project directory that runs the scenario
//! with another tool: a docker-compose project (`docker-compose.yml`) or a containerlab topology
//! (`<lab>.clab.yml`), beside a copy of the scenario file.
//!
//! Both run the lab the way `docker run hybridlab:<v> run` does: one container from the image,
//! the engine inside it, every node a network namespace of that container, with the least
//! privilege of the README's table (NET_ADMIN, SYS_ADMIN, /dev/net/tun; Docker's default
//! seccomp profile), the reports written to `out/`. The container exits with `run`'s code.
//!
//! What it does not do: one container per node (that is `run --runtime docker`: the engine
//! wires the containers' namespaces and plays the timeline; neither tool could), or YAML in
//! general (the files are written by hand; strings are JSON-quoted, which YAML reads as is).

use std::path::{Path, PathBuf};

use engine::model::Scenario;
use engine::source::Source;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// docker-compose.yml.
    Compose,
    /// `<lab>.clab.yml`.
    Containerlab,
}

/// Where the scenario sits in the container, and where the reports go.
const IN_CONTAINER: &str = "/lab";

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The `hybridlab run` command line inside the container.
fn run_args(lab: &str) -> Vec<String> {
    vec![
        "run".into(),
        format!("{IN_CONTAINER}/scenario.toml"),
        "--lab".into(),
        lab.into(),
        "--json".into(),
        format!("{IN_CONTAINER}/out/run.json"),
        "--junit".into(),
        format!("{IN_CONTAINER}/out/junit.xml"),
    ]
}

fn header(scenario: &Scenario, what: &str) -> String {
    let nodes: Vec<String> = scenario
        .topology
        .nodes
        .iter()
        .map(|n| format!("{} ({})", n.name(), n.kind()))
        .collect();
    format!(
        "# Written by `hybridlab export {what}` (hybridlab {}) from {}.\n\
         # One container from the image runs the lab's engine; the nodes are network namespaces\n\
         # inside it: {}.\n\
         # Reports: out/run.json, out/junit.xml. Exit code: run's (0 passed, 1 failed, 2 bad input).\n",
        env!("CARGO_PKG_VERSION"),
        scenario.file,
        nodes.join(", ")
    )
}

/// docker-compose.yml (file format 2.4: docker-compose 1.x and Compose v2 read it).
pub fn compose(scenario: &Scenario, lab: &str, image: &str) -> String {
    let cmd: Vec<String> = run_args(lab).iter().map(|a| q(a)).collect();
    format!(
        "{}# Run: docker-compose up --exit-code-from lab && docker-compose down\n\
         version: \"2.4\"\n\
         services:\n  \
           lab:\n    \
             image: {}\n    \
             command: [{}]\n    \
             network_mode: none\n    \
             cap_add: [\"NET_ADMIN\", \"SYS_ADMIN\"]\n    \
             devices: [\"/dev/net/tun:/dev/net/tun\"]\n    \
             labels:\n      \
               hybridlab.lab: {}\n    \
             volumes:\n      \
               - \"./scenario.toml:{IN_CONTAINER}/scenario.toml:ro\"\n      \
               - \"./out:{IN_CONTAINER}/out\"\n",
        header(scenario, "compose"),
        q(image),
        cmd.join(", "),
        q(lab),
    )
}

/// `<lab>.clab.yml`, checked against containerlab's published topology schema.
pub fn containerlab(scenario: &Scenario, lab: &str, image: &str) -> String {
    format!(
        "{}# Run: containerlab deploy -t {lab}.clab.yml (the node's exit code is run's)\n\
         name: {}\n\
         topology:\n  \
           nodes:\n    \
             lab:\n      \
               kind: linux\n      \
               image: {}\n      \
               cmd: {}\n      \
               cap-add: [\"NET_ADMIN\", \"SYS_ADMIN\"]\n      \
               devices: [\"/dev/net/tun\"]\n      \
               labels:\n        \
                 hybridlab.lab: {}\n      \
               binds:\n        \
                 - \"scenario.toml:{IN_CONTAINER}/scenario.toml:ro\"\n        \
                 - \"out:{IN_CONTAINER}/out\"\n",
        header(scenario, "containerlab"),
        q(lab),
        q(image),
        q(&run_args(lab).join(" ")),
        q(lab),
    )
}

/// Writes the project into `dir` (created; an existing project file is not overwritten).
/// Returns the path of the file written.
pub fn write(
    format: Format,
    scenario: &Scenario,
    source: &Source,
    lab: &str,
    image: &str,
    dir: &Path,
) -> Result<PathBuf, String> {
    let (name, text) = match format {
        Format::Compose => (
            "docker-compose.yml".to_string(),
            compose(scenario, lab, image),
        ),
        Format::Containerlab => (
            format!("{lab}.clab.yml"),
            containerlab(scenario, lab, image),
        ),
    };
    let file = dir.join(&name);
    if file.exists() {
        return Err(format!(
            "{} exists already: remove it or choose another --out",
            file.display()
        ));
    }
    let out = dir.join("out");
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let scen = dir.join("scenario.toml");
    std::fs::write(&scen, &source.text).map_err(|e| format!("writing {}: {e}", scen.display()))?;
    std::fs::write(&file, text).map_err(|e| format!("writing {}: {e}", file.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let s = scenarios::shipped::find("dual-tunnel-failover").unwrap();
        engine::parse::parse_scenario_with(&s.source(), &scenarios::registry(), None).unwrap()
    }

    #[test]
    fn compose_runs_the_scenario_with_the_least_privilege() {
        let text = compose(&scenario(), "demo", "hybridlab:0.1.0");
        assert!(text.contains("image: \"hybridlab:0.1.0\""));
        assert!(text.contains(
            "command: [\"run\", \"/lab/scenario.toml\", \"--lab\", \"demo\", \"--json\", \"/lab/out/run.json\""
        ));
        assert!(text.contains("cap_add: [\"NET_ADMIN\", \"SYS_ADMIN\"]"));
        assert!(text.contains("network_mode: none"));
        assert!(text.contains("vgw1 (vgw)"), "{text}");
    }

    #[test]
    fn containerlab_names_the_lab_and_its_node() {
        let text = containerlab(&scenario(), "demo", "hybridlab:0.1.0");
        assert!(
            text.contains("name: \"demo\"\ntopology:\n  nodes:\n    lab:\n      kind: linux\n")
        );
        assert!(text.contains("cmd: \"run /lab/scenario.toml --lab demo"));
    }
}
