//! Build invariants: one Arrow version for DuckDB, lancedb and serde_arrow.

use std::process::Command;

/// Batches move between DuckDB, Lance and serde_arrow without a bridge only while all three use
/// the same arrow crates. An upgrade of any of them that pulls a second `arrow-array` fails here.
#[test]
fn one_arrow_array_version_serves_duckdb_lancedb_and_serde_arrow() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let lock = std::fs::read_to_string(format!("{manifest}/Cargo.lock")).unwrap();
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|package| package.contains("\nname = \"arrow-array\"\n"))
        .filter_map(|package| package.lines().find(|l| l.starts_with("version = ")))
        .collect();
    assert_eq!(versions.len(), 1, "more than one arrow-array in Cargo.lock: {versions:?}");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["tree", "--offline", "--locked", "-e", "normal", "--prefix", "none", "-i", "arrow-array"])
        .current_dir(manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    for dependent in ["duckdb v", "lancedb v", "serde_arrow v"] {
        assert!(tree.contains(dependent), "{dependent} does not use the one arrow-array:\n{tree}");
    }
}
