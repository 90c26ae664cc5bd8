//! Build facts the binary reports: the operation names the web app sends
//! (the metrics label keeps these and folds any other name into `other`, so
//! callers cannot create series), and the commit it was built from.

use std::{env, fs, path::Path, process::Command};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/graphql");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(&dir) {
        for e in entries.flatten() {
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            for line in text.lines() {
                let mut words = line.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
                if let (Some("query" | "mutation" | "subscription"), Some(name)) = (words.next(), words.next()) {
                    if !name.is_empty() {
                        names.push(name.to_owned());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    // Rebuilt when the checkout moves to another commit (when it is a git checkout).
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git");
    let head = git.join("HEAD");
    if let Ok(text) = fs::read_to_string(&head) {
        println!("cargo:rerun-if-changed={}", head.display());
        if let Some(r) = text.trim().strip_prefix("ref: ").map(|r| git.join(r)).filter(|r| r.exists()) {
            println!("cargo:rerun-if-changed={}", r.display());
        }
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("build_facts.rs");
    let code = format!(
        "/// Operation names the web app sends.\npub const KNOWN_OPERATIONS: &[&str] = &{names:?};\n\
         /// The commit this binary was built from.\npub const GIT_COMMIT: &str = {commit:?};\n"
    );
    fs::write(out, code).expect("write build facts");
}
