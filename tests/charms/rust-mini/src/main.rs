//! Sets an active status naming its config word once started, through the hook tools.

use std::process::Command;

fn tool(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("hook tool");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn main() {
    let hook = std::env::var("JUJU_HOOK_NAME").unwrap_or_default();
    if hook == "start" || hook == "config-changed" {
        let word = tool(&["config-get", "word"]);
        tool(&["status-set", "active", &format!("rust says {word}")]);
    }
}
