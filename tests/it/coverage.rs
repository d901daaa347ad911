//! Every command in the table must be exercised somewhere in the tests (as Garnet's
//! AllCommandsCovered does): adding a command without a test fails here.

use crate::util::Server;

#[test]
fn every_command_has_a_test() {
    let s = Server::strata(&[]);
    let raw = s.raw().cmd(&["COMMAND", "LIST"]);
    let listing = String::from_utf8_lossy(&raw).into_owned();
    let names: Vec<String> = listing
        .lines()
        .filter(|l| !l.starts_with(['*', '$']))
        .map(str::to_ascii_lowercase)
        .collect();
    assert!(names.len() > 50, "COMMAND LIST returned {}", names.len());
    let mut corpus = String::new();
    for dir in ["tests/it", "crates/commands/src"] {
        for entry in std::fs::read_dir(dir).expect("read tests") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p)
                    .expect("read")
                    .to_ascii_lowercase();
                // Only test code counts: the registration blocks quote every name themselves.
                let tests = if dir == "tests/it" {
                    &text[..]
                } else {
                    text.split_once("#[cfg(test)]").map_or("", |(_, t)| t)
                };
                corpus.push_str(tests);
            }
        }
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !corpus.contains(&format!("\"{n}\"")))
        .collect();
    assert!(missing.is_empty(), "commands without a test: {missing:?}");

    // docs/commands.md's table is generated from the command table; it must be current.
    let docs = std::fs::read_to_string("docs/commands.md").expect("read docs/commands.md");
    let undocumented: Vec<&String> = names
        .iter()
        .filter(|n| !docs.contains(&format!("| `{}` |", n.to_ascii_uppercase())))
        .collect();
    assert!(
        undocumented.is_empty(),
        "commands missing from docs/commands.md (run scripts/gen-commands-doc.py): {undocumented:?}"
    );
}
