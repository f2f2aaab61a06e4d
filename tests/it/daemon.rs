//! The live daemon (`znt daemon`): watching, delta commits, the writer lock and crash safety.
//! Every check compares the daemon's table with a fresh full index of the same tree.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zenith::daemon::{IndexOptions, Silent, reconcile};
use zenith::store::{Store, StoreConfig};
use zenith::symbols::Symbol;

use crate::support::{Rng, comparable, runtime};

fn fresh_index(rt: &tokio::runtime::Runtime, workspace: &Path) -> Vec<Symbol> {
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(Store::open(&StoreConfig::new(dir.path().to_string_lossy().into_owned()))).unwrap();
    rt.block_on(reconcile(workspace, &store, &IndexOptions::default(), &Silent)).unwrap();
    comparable(rt.block_on(store.all_symbols()).unwrap())
}

fn indexed(rt: &tokio::runtime::Runtime, index: &Path) -> Vec<Symbol> {
    let store = rt.block_on(Store::open(&StoreConfig::new(index.to_string_lossy().into_owned()))).unwrap();
    comparable(rt.block_on(store.all_symbols()).unwrap())
}

/// Waits until the daemon's table equals a fresh index of the workspace.
fn converges(rt: &tokio::runtime::Runtime, workspace: &Path, index: &Path, what: &str) {
    let expected = fresh_index(rt, workspace);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let actual = indexed(rt, index);
        if actual == expected {
            return;
        }
        if Instant::now() > deadline {
            let names = |s: &[Symbol]| s.iter().map(|s| format!("{}:{}", s.path, s.name)).collect::<Vec<_>>();
            panic!(
                "after {what}: the daemon's table never matched a fresh index\nactual {:?}\nexpected {:?}",
                names(&actual),
                names(&expected)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Daemon(Child);

impl Daemon {
    fn start(workspace: &Path, index: &Path) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_znt"))
            .args(["daemon", "--no-embed", "--index-dir"])
            .arg(index)
            .arg(workspace)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_daemon_follows_edits_saves_renames_deletions_and_bursts() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path();
    crate::index::fixture_workspace(root);
    let rt = runtime();
    let _daemon = Daemon::start(root, index.path());
    converges(&rt, root, index.path(), "startup");

    write(root, "src/new.rs", "pub fn created() {}\n");
    converges(&rt, root, index.path(), "create");

    write(root, "src/new.rs", "pub fn created() {}\npub fn modified() {}\n");
    converges(&rt, root, index.path(), "modify");

    // Editor-style atomic save: write a temp file, rename it over the original.
    write(root, "src/.new.rs.swp", "pub fn atomically_saved() {}\n");
    std::fs::rename(root.join("src/.new.rs.swp"), root.join("src/new.rs")).unwrap();
    converges(&rt, root, index.path(), "atomic save");

    std::fs::rename(root.join("src/new.rs"), root.join("src/renamed.rs")).unwrap();
    converges(&rt, root, index.path(), "rename");

    std::fs::remove_dir_all(root.join("app")).unwrap();
    converges(&rt, root, index.path(), "directory deletion");
    write(root, "app/service.py", "def recreated():\n    pass\n");
    converges(&rt, root, index.path(), "directory re-creation");

    // A burst: many files at once (a branch switch).
    for n in 0..5000 {
        write(root, &format!("burst/d{}/f{n}.py", n % 20), &format!("def burst_{n}():\n    pass\n"));
    }
    converges(&rt, root, index.path(), "a burst of 5000 files (a branch switch)");
    std::fs::remove_dir_all(root.join("burst")).unwrap();
    converges(&rt, root, index.path(), "removing the burst");

    // A symlink loop is never followed; a file that becomes binary loses its symbols.
    std::os::unix::fs::symlink(root, root.join("src/loop")).unwrap();
    std::fs::write(root.join("src/renamed.rs"), b"pub fn x() {}\0\0").unwrap();
    converges(&rt, root, index.path(), "symlink loop and binary file");

    // Ignore rules changing re-check everything.
    write(root, ".gitignore", "ignored/\nsrc/\n");
    converges(&rt, root, index.path(), "a .gitignore change");
}

#[test]
fn a_second_daemon_on_the_same_index_refuses_to_write() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let rt = runtime();
    let _first = Daemon::start(workspace.path(), index.path());
    converges(&rt, workspace.path(), index.path(), "startup");
    let second = Command::new(env!("CARGO_BIN_EXE_znt"))
        .args(["daemon", "--no-embed", "--index-dir"])
        .arg(index.path())
        .arg(workspace.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another Zenith daemon is already writing"), "{stderr}");
}

#[test]
fn killing_the_daemon_at_random_moments_never_loses_convergence() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path();
    crate::index::fixture_workspace(root);
    let rt = runtime();
    let mut rng = Rng::new(2026);
    let versions = |rt: &tokio::runtime::Runtime| {
        let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
        rt.block_on(store.version()).unwrap()
    };
    let initial = versions(&rt);
    for round in 0..8 {
        let mut daemon = Daemon::start(root, index.path());
        // Change the workspace while the daemon starts up, reconciles and commits.
        for n in 0..(50 + rng.next_u64() % 200) {
            let file = rng.next_u64() % 40;
            if rng.next_u64().is_multiple_of(5) {
                let _ = std::fs::remove_file(root.join(format!("churn/f{file}.py")));
            } else {
                write(root, &format!("churn/f{file}.py"), &format!("def churn_{round}_{n}():\n    pass\n"));
            }
        }
        std::thread::sleep(Duration::from_millis(100 + rng.next_u64() % 1500));
        // kill -9: no chance to clean up.
        daemon.0.kill().unwrap();
        daemon.0.wait().unwrap();
        // Whatever state the kill left, the table must still open and read.
        let _ = indexed(&rt, index.path());
    }
    assert!(versions(&rt) > initial, "the daemon committed between kills, so kills hit live work");
    // The restart converges to exactly a fresh index.
    let _daemon = Daemon::start(root, index.path());
    converges(&rt, root, index.path(), "8 random kills");
}

#[test]
fn a_delta_reports_the_names_of_exactly_the_rows_it_committed() {
    let rt = runtime();
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    write(workspace.path(), "pkg/a.py", "class Alpha:\n    def run(self):\n        pass\n");
    write(workspace.path(), "pkg/b.py", "def beta():\n    pass\n");
    let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
    let options = IndexOptions::default();
    rt.block_on(reconcile(workspace.path(), &store, &options, &Silent)).unwrap();
    write(
        workspace.path(),
        "pkg/a.py",
        "class Alpha:\n    def run(self):\n        pass\n\ndef gamma(x):\n    return x\n",
    );
    std::fs::remove_file(workspace.path().join("pkg/b.py")).unwrap();
    let targets = [workspace.path().join("pkg/a.py"), workspace.path().join("pkg/b.py")];
    let report = rt.block_on(zenith::daemon::reconcile_paths(workspace.path(), &targets, &store, &options)).unwrap();
    let mut reported = report.replaced_names.expect("a delta carries its names");
    let engine = zenith::query::Engine::shared().unwrap();
    let mut read_back = engine.name_entries_for(&store.dataset_uri(), &report.replaced_paths).unwrap();
    for names in [&mut reported, &mut read_back] {
        names.sort_by(|a, b| a.id.cmp(&b.id));
    }
    assert_eq!(reported, read_back);
    let mut names: Vec<&str> = reported.iter().map(|n| n.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Alpha", "gamma", "run"]);
}

/// Runs `znt index --no-embed` on `workspace`. As root, permission bits do not apply, so the
/// indexer runs without the two capabilities that bypass them (`setpriv`, util-linux): a
/// mode-000 file is then as unreadable to it as to any user.
fn index_without_dac_override(workspace: &Path, index: &Path) -> std::process::Output {
    let znt = env!("CARGO_BIN_EXE_znt");
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("setpriv");
        command.args(["--bounding-set=-dac_override,-dac_read_search", "--", znt]);
        command
    } else {
        Command::new(znt)
    };
    command.args(["index", "--no-embed", "--index-dir"]).arg(index).arg(workspace).env("RUST_LOG", "zenith=info");
    command.output().unwrap()
}

#[test]
fn a_permission_denied_file_is_skipped_with_its_reason_and_indexed_once_readable() {
    use std::os::unix::fs::PermissionsExt;
    let rt = runtime();
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path();
    write(root, "src/open.rs", "pub fn readable() {}\n");
    write(root, "src/locked.rs", "pub fn locked_away() {}\n");
    let locked = root.join("src/locked.rs");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    let output = index_without_dac_override(root, index.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("locked.rs") && log.to_lowercase().contains("permission denied"), "no logged reason: {log}");
    // Everything else is indexed: the table equals a fresh index of the tree without it.
    let readable_only = tempfile::tempdir().unwrap();
    write(readable_only.path(), "src/open.rs", "pub fn readable() {}\n");
    assert_eq!(indexed(&rt, index.path()), fresh_index(&rt, readable_only.path()));

    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = index_without_dac_override(root, index.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(indexed(&rt, index.path()), fresh_index(&rt, root));
}

/// Waits until the folder's snapshot satisfies `ready`, or fails naming `what`.
fn wait_snapshot(
    folder: &zenith::daemon::Folder,
    what: &str,
    ready: impl Fn(&zenith::daemon::Snapshot) -> bool,
) -> std::sync::Arc<zenith::daemon::Snapshot> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snapshot = folder.snapshot();
        if ready(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "{what}: last snapshot {:?} (error {:?})", snapshot.role, snapshot.error);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_name(snapshot: &zenith::daemon::Snapshot, name: &str, path: &str) -> bool {
    snapshot.names.search(name, 5).iter().any(|found| found.entry.name == name && found.entry.path == path)
}

#[test]
fn a_second_process_follows_the_writers_commits_and_takes_over_when_it_exits() {
    use zenith::daemon::{FolderConfig, Role, open_folder};
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    write(&root, "src/lib.rs", "pub fn first() {}\n");
    let rt = runtime();
    let writer = Daemon::start(&root, index.path());
    // The daemon creates the table and takes the lock; whoever comes second follows.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !index.path().join("symbols.lance").exists() {
        assert!(Instant::now() < deadline, "the daemon never created its index");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut settings = zenith::config::load(Some(&root)).unwrap();
    settings.embed_enabled = false;
    let config = FolderConfig::new(root.clone(), index.path().to_string_lossy().into_owned(), settings, None);
    let follower = rt.block_on(open_folder(config)).unwrap();
    let seen =
        wait_snapshot(&follower, "following", |s| s.role == Role::Follower && has_name(s, "first", "src/lib.rs"));
    assert!(!follower.send(zenith::daemon::Event::Rescan), "a follower has no writer inbox");

    // Each commit of the writer reaches the follower's names, at the writer's version.
    write(&root, "src/added.rs", "pub fn added_while_following() {}\n");
    let after =
        wait_snapshot(&follower, "the writer's commit", |s| has_name(s, "added_while_following", "src/added.rs"));
    assert!(after.version > seen.version);
    let store = rt.block_on(Store::open(&StoreConfig::existing(index.path().to_string_lossy().into_owned()))).unwrap();
    assert!(rt.block_on(store.version()).unwrap() >= after.version);
    std::fs::remove_file(root.join("src/lib.rs")).unwrap();
    wait_snapshot(&follower, "a deletion", |s| !has_name(s, "first", "src/lib.rs"));

    // The writer exits: the follower takes the lock and keeps the index fresh itself.
    drop(writer);
    wait_snapshot(&follower, "taking over", |s| s.role == Role::Writer);
    write(&root, "src/later.rs", "pub fn written_after_the_handover() {}\n");
    wait_snapshot(&follower, "its own commit", |s| has_name(s, "written_after_the_handover", "src/later.rs"));
    converges(&rt, &root, index.path(), "the hand-over");
    // Without a model, maintenance still runs (after each commit): the full-text index exists.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(store.stats()).unwrap().fulltext_index.is_none() {
        assert!(Instant::now() < deadline, "a writer without embeddings never built the full-text index");
        std::thread::sleep(Duration::from_millis(100));
    }
    // And a new daemon now finds the lock taken.
    let refused = Command::new(env!("CARGO_BIN_EXE_znt"))
        .args(["daemon", "--no-embed", "--index-dir"])
        .arg(index.path())
        .arg(&root)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already writing"), "{refused:?}");
    drop(follower);
}

#[test]
fn a_running_embedding_backfill_publishes_its_progress() {
    use zenith::daemon::{FolderConfig, open_folder};
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    for file in 0..300 {
        let functions: String = (0..5)
            .map(|n| format!("def handle_order_{file}_{n}(order):\n    \"\"\"Ship order {n}.\"\"\"\n\n"))
            .collect();
        write(&root, &format!("orders/o{file}.py"), &functions);
    }
    let rt = runtime();
    let dir = zenith::assets::model_dir().expect("the model must be available (run `znt setup`)");
    let embedder = std::sync::Arc::new(zenith::embed::Embedder::load(&dir, Default::default()).unwrap());
    let settings = zenith::config::load(Some(&root)).unwrap();
    let config = FolderConfig::new(root.clone(), index.path().to_string_lossy().into_owned(), settings, Some(embedder));
    let folder = rt.block_on(open_folder(config)).unwrap();
    // Every snapshot the writer publishes, until the back-fill is complete.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let snapshot = folder.snapshot();
        let status = &snapshot.status;
        if status.ready && seen.last() != Some(&(snapshot.version, status.embedded)) {
            seen.push((snapshot.version, status.embedded));
        }
        if status.ready && status.symbols == 1500 && status.embedded == status.symbols {
            break;
        }
        assert!(Instant::now() < deadline, "the back-fill never completed: {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let partial: Vec<_> = seen.iter().filter(|(_, embedded)| *embedded > 0 && *embedded < 1500).collect();
    assert!(!partial.is_empty(), "no snapshot showed the back-fill under way: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "versions and counts only grow: {seen:?}");
}
