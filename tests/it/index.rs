//! The reconcile (daemon's startup path) and the `znt` commands on a real temp workspace.

use std::path::Path;

use zenith::daemon::{IndexOptions, Silent, reconcile};
use zenith::store::{Store, StoreConfig};

use crate::support::{comparable, runtime};

pub const CANARY: &str = "ZENITH_CANARY_c2VjcmV0";

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small multi-language workspace with ignored, vendored, secret and binary files.
pub fn fixture_workspace(root: &Path) {
    write(
        root,
        "src/lib.rs",
        "/// Parses the configuration file.\npub fn parse_config(path: &str) -> Config { todo!() }\n\npub struct Config { pub name: String }\n",
    );
    write(
        root,
        "app/service.py",
        "class UserService:\n    \"\"\"Manages users.\"\"\"\n\n    def create_user(self, name):\n        \"\"\"Create a user account and send a welcome email.\"\"\"\n        return name\n",
    );
    write(
        root,
        "web/api.ts",
        "/** Fetch a user by id over HTTP. */\nexport async function fetchUser(id: string): Promise<User> { return get(id); }\n",
    );
    write(root, "ignored/gen.rs", "pub fn generated() {}\n");
    write(root, ".gitignore", "ignored/\n");
    write(root, "node_modules/dep/index.js", "function vendored() {}\n");
    write(root, ".env", &format!("API_KEY={CANARY}\n"));
    write(root, "config/credentials.py", &format!("def leak():\n    return '{CANARY}'\n"));
    write(root, "keys/server.pem", CANARY);
    write(root, "data/blob.rs", "fn binary() {}\0\0\0");
}

/// The differential check of the daemon: the incrementally maintained table must equal a
/// fresh full index of the same tree.
pub fn assert_matches_fresh_index(rt: &tokio::runtime::Runtime, workspace: &Path, store: &Store) {
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = rt.block_on(Store::open(&StoreConfig::new(fresh_dir.path().to_string_lossy().into_owned()))).unwrap();
    rt.block_on(reconcile(workspace, &fresh, &IndexOptions::default(), &Silent)).unwrap();
    let expected = comparable(rt.block_on(fresh.all_symbols()).unwrap());
    let actual = comparable(rt.block_on(store.all_symbols()).unwrap());
    assert_eq!(actual, expected, "incremental index differs from a fresh index");
}

#[test]
fn reconcile_indexes_sources_and_never_reads_ignored_vendored_or_secret_files() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    fixture_workspace(workspace.path());
    let rt = runtime();
    let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
    let report = rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
    let symbols = rt.block_on(store.all_symbols()).unwrap();
    let mut paths: Vec<&str> = symbols.iter().map(|s| s.path.as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, ["app/service.py", "src/lib.rs", "web/api.ts"]);
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    for expected in ["parse_config", "Config", "name", "UserService", "create_user", "fetchUser"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    for symbol in &symbols {
        let row = serde_json::to_string(symbol).unwrap();
        assert!(!row.contains(CANARY), "the canary secret reached the table: {row}");
    }
    assert!(report.skipped.iter().any(|s| s.relative == "config/credentials.py"), "{:?}", report.skipped);
    assert!(report.skipped.iter().any(|s| s.relative == "data/blob.rs" && s.reason.contains("binary")));
    // The table's files on disk never contain the canary either (no page of it was written).
    for path in crate::support::files_under(index.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "canary in {}", path.display());
    }
}

#[test]
fn a_second_reconcile_of_an_unchanged_workspace_parses_nothing() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    fixture_workspace(workspace.path());
    let rt = runtime();
    let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
    rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
    let version = rt.block_on(store.version()).unwrap();
    let again = rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
    assert_eq!(again.files_parsed, 0, "{again:?}");
    assert_eq!(rt.block_on(store.version()).unwrap(), version, "no commit for an unchanged workspace");
}

#[test]
fn edits_renames_and_deletions_converge_to_a_fresh_index() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path();
    fixture_workspace(root);
    let rt = runtime();
    let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
    rt.block_on(reconcile(root, &store, &IndexOptions::default(), &Silent)).unwrap();

    // Edit: a function renamed, one added. Rename: a file moved. Delete: a file removed.
    write(
        root,
        "src/lib.rs",
        "/// Parses it.\npub fn parse_settings(path: &str) -> Config { todo!() }\npub fn extra() {}\npub struct Config { pub name: String }\n",
    );
    std::fs::create_dir_all(root.join("server")).unwrap();
    std::fs::rename(root.join("app/service.py"), root.join("server/service.py")).unwrap();
    std::fs::remove_file(root.join("web/api.ts")).unwrap();
    // A file that becomes broken keeps what can be read, marked partial.
    write(root, "broken.py", "def fine():\n    pass\n\ndef broken(:\n");
    let report = rt.block_on(reconcile(root, &store, &IndexOptions::default(), &Silent)).unwrap();
    assert_eq!(report.files_parsed, 3, "{report:?}");
    assert_eq!(report.files_deleted, 2, "{report:?}");
    assert_eq!(report.files_partial, 1);
    assert_matches_fresh_index(&rt, root, &store);
    let symbols = rt.block_on(store.all_symbols()).unwrap();
    assert!(symbols.iter().any(|s| s.name == "fine" && s.partial));
    assert!(!symbols.iter().any(|s| s.name == "parse_config" || s.name == "fetchUser"));
}
