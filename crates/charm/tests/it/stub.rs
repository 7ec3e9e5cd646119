//! A directory of stub hook tools (`tests/fixtures/stub-tool.py` linked under every tool name)
//! that records each call and keeps relation bags and secrets in a JSON file.

use std::path::{Path, PathBuf};

pub(crate) struct StubTools {
    dir: tempfile::TempDir,
}

impl StubTools {
    pub(crate) fn new(unit: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stub-tool.py");
        for tool in hook_tools::Tool::ALL {
            std::os::unix::fs::symlink(&script, dir.path().join(tool.name())).unwrap();
        }
        std::fs::write(
            dir.path().join("identity.json"),
            format!("{{\"unit\": \"{unit}\"}}"),
        )
        .unwrap();
        StubTools { dir }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub(crate) fn answer(&self, tool: &str, stdout: &str) {
        let d = self.dir.path().join("answers");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(tool), stdout).unwrap();
    }

    pub(crate) fn fail(&self, tool: &str, code: i32, message: &str) {
        let d = self.dir.path().join("fail");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(tool), format!("{code}\n{message}")).unwrap();
    }

    pub(crate) fn calls(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("calls.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub(crate) fn argvs(&self) -> Vec<Vec<String>> {
        self.calls()
            .iter()
            .map(|c| {
                c["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }
}
