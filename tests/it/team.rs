//! The team tier against a real S3-compatible server (moto) on loopback: conditional PUT
//! honoured, push and pull between two clones with the same answers, federated search over
//! several repositories and one ref's view, concurrent pushers, privacy of the bucket, and a
//! remote that is down.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::S3Server;

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Zenith Test", "-c", "user.email=test@zenith.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .expect("git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A committed repository at `dir` whose origin names `repo`.
fn repository(dir: &Path, repo: &str) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["remote", "add", "origin", &format!("https://{repo}.git")]);
    commit_all(dir, "initial");
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// A second clone of `source`, with the same origin URL as a teammate's clone would have.
fn clone(source: &Path, target: &Path) {
    let origin = git(source, &["config", "--get", "remote.origin.url"]);
    let status = Command::new("git").arg("clone").arg("-q").arg(source).arg(target).status().unwrap();
    assert!(status.success());
    git(target, &["remote", "set-url", "origin", origin.trim()]);
}

/// One teammate's machine: a private cache, config home and index, the bucket's credentials.
struct Machine {
    home: tempfile::TempDir,
    remote: String,
    env: Vec<(&'static str, String)>,
}

impl Machine {
    fn new(server: &S3Server, prefix: &str) -> Machine {
        Machine {
            home: tempfile::tempdir().unwrap(),
            remote: format!("s3://{}/{prefix}", server.bucket),
            env: server.env(),
        }
    }

    fn index_dir(&self, workspace: &Path) -> PathBuf {
        self.home.path().join("indexes").join(workspace.file_name().unwrap())
    }

    fn znt(&self, workspace: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_znt"));
        command
            .current_dir(workspace)
            .env("ZENITH_CACHE_DIR", self.home.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env_remove("ZENITH_INDEX_DIR")
            .env("ZENITH_TEAM_REMOTE", &self.remote)
            .env("ZENITH_LANCE_EXTENSION", zenith::assets::cached_lance_extension())
            .env("ZENITH_MODEL_DIR", zenith::assets::cached_model_dir())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("--index-dir")
            .arg(self.index_dir(workspace));
        command
    }

    fn run(&self, workspace: &Path, args: &[&str]) -> (String, String) {
        let output = self.znt(workspace).args(args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "znt {args:?} failed:\n{stderr}");
        (stdout, stderr)
    }

    fn json(&self, workspace: &Path, args: &[&str]) -> Vec<serde_json::Value> {
        self.run(workspace, args).0.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

fn texts(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn app_workspace(root: &Path) {
    crate::index::fixture_workspace(root);
    write(root, "src/billing.rs", "/// Charges a customer's card for an invoice.\npub fn charge_invoice(id: u64) {}\n");
}

/// A bucket, a committed copy of the app fixture named `repo`, and one teammate's machine.
fn team_setup(bucket: &str, repo: &str) -> (S3Server, tempfile::TempDir, PathBuf, Machine) {
    let server = S3Server::start(bucket);
    let base = tempfile::tempdir().unwrap();
    let ws = base.path().join("app");
    app_workspace(&ws);
    repository(&ws, repo);
    let machine = Machine::new(&server, "team");
    (server, base, ws, machine)
}

/// A repository's table on the remote, opened as a reader.
fn team_table(rt: &tokio::runtime::Runtime, server: &S3Server, machine: &Machine, repo: &str) -> zenith::store::Store {
    let config = zenith::store::StoreConfig {
        uri: format!("{}/repos/{}", machine.remote, zenith::team::repo_slug(repo)),
        storage_options: server.storage_options(),
        model: Default::default(),
        create_if_missing: false,
        content_addressed: true,
    };
    rt.block_on(zenith::store::Store::open(&config)).unwrap()
}

fn names(hits: &[serde_json::Value]) -> Vec<String> {
    hits.iter()
        .map(|hit| format!("{}:{}", hit["path"].as_str().unwrap(), hit["qualified_name"].as_str().unwrap()))
        .collect()
}

#[test]
fn the_test_server_honours_conditional_put() {
    // Lance commits a version with `PutMode::Create` (`If-None-Match: *`); a server that
    // ignored it would let two pushers both commit the same version and lose one.
    let server = S3Server::start("zenith-conditional");
    let script = r#"
import sys, boto3, botocore
endpoint, bucket = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.put_object(Bucket=bucket, Key="v/1.manifest", Body=b"first", IfNoneMatch="*")
try:
    s3.put_object(Bucket=bucket, Key="v/1.manifest", Body=b"second", IfNoneMatch="*")
except botocore.exceptions.ClientError as error:
    print(error.response["Error"]["Code"])
print(s3.get_object(Bucket=bucket, Key="v/1.manifest")["Body"].read().decode())
"#;
    let output = Command::new("python3").args(["-c", script, &server.endpoint, &server.bucket]).output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.split_whitespace().collect::<Vec<_>>(), ["PreconditionFailed", "first"], "{stdout}");
}

#[test]
fn a_teammate_reuses_pushed_rows_and_gets_the_same_answers() {
    let server = S3Server::start("zenith-team");
    let base = tempfile::tempdir().unwrap();
    let (alice_ws, bob_ws) = (base.path().join("alice/app"), base.path().join("bob/app"));
    app_workspace(&alice_ws);
    repository(&alice_ws, "example.test/team/app");
    let (alice, bob) = (Machine::new(&server, "team"), Machine::new(&server, "team"));

    alice.run(&alice_ws, &["index"]);
    // A dry run lists what would go and sends nothing.
    let (plan, _) = alice.run(&alice_ws, &["team", "push", "--dry-run"]);
    assert!(plan.contains("send  src/billing.rs") && plan.contains("would push"), "{plan}");
    assert!(server.objects().is_empty(), "a dry run uploaded something");
    let pushed = alice.json(&alice_ws, &["team", "push", "--json"]);
    assert_eq!(pushed[0]["report"]["files_sent"], 4, "{}", pushed[0]);
    assert_eq!(pushed[0]["identity"]["repo"], "example.test/team/app");
    assert_eq!(pushed[0]["identity"]["git_ref"], "main");
    // Pushing again sends nothing: every version is there, with its vectors.
    let again = alice.json(&alice_ws, &["team", "push", "--json"]);
    assert_eq!(again[0]["report"]["files_sent"], 0, "{}", again[0]);

    // A branch with another version of one file: the team's table now holds rows that a
    // clone of main must not keep.
    git(&alice_ws, &["checkout", "-q", "-b", "wip"]);
    write(&alice_ws, "src/billing.rs", "/// Voids an invoice before it is charged.\npub fn void_invoice(id: u64) {}\n");
    commit_all(&alice_ws, "void");
    alice.run(&alice_ws, &["index"]);
    alice.run(&alice_ws, &["team", "push"]);
    git(&alice_ws, &["checkout", "-q", "main"]);
    alice.run(&alice_ws, &["index"]);

    // Bob's fresh clone of main starts as a copy of the team's table (indexes included), minus
    // the branch's version; it parses and embeds nothing itself.
    clone(&alice_ws, &bob_ws);
    let (_, stderr) = bob.run(&bob_ws, &["index"]);
    assert!(stderr.contains("cloned the team's table: 4 files"), "{stderr}");
    assert!(stderr.contains("1 rows of other versions dropped"), "{stderr}");
    assert!(stderr.contains("(0 parsed, 4 unchanged"), "bob parsed files himself: {stderr}");
    assert!(stderr.contains("(0 now"), "bob embedded texts himself: {stderr}");
    let rows = |machine: &Machine, ws: &Path| {
        let mut rows = machine.json(
            ws,
            &[
                "sql",
                "SELECT id, path, name, signature, file_hash, text_hash, embedding FROM symbols ORDER BY id",
                "--json",
            ],
        );
        rows.sort_by_key(|row| row["id"].as_str().unwrap().to_string());
        rows
    };
    assert_eq!(rows(&alice, &alice_ws), rows(&bob, &bob_ws), "bob's index differs from alice's");
    // Same rows, but each full-text index has its own history (Alice's was extended as she
    // switched branches, Bob's is the team's, minus the branch's row), and BM25 statistics
    // count what an index has seen: the same hits, the same best hit, ties may order apart.
    for query in ["create an account for a new user", "charge a card", "parse config"] {
        let args = ["search", query, "--json", "--limit", "5"];
        let (mut a, mut b) = (names(&alice.json(&alice_ws, &args)), names(&bob.json(&bob_ws, &args)));
        assert_eq!(a.first(), b.first(), "{query}: {a:?} vs {b:?}");
        a.sort();
        b.sort();
        assert_eq!(a, b, "{query}");
    }
    // The cloned full-text index still holds the branch's document; the deletion hides it.
    let voided = bob.json(&bob_ws, &["search", "void_invoice", "--mode", "fulltext", "--json"]);
    assert!(!names(&voided).iter().any(|hit| hit.contains("void_invoice")), "a wip row was kept: {voided:?}");
    assert!(names(&voided).iter().any(|hit| hit.contains("charge_invoice")), "{voided:?}");
    // The cloned index is an ordinary private index: an edit is indexed and found.
    write(&bob_ws, "src/refunds.rs", "/// Refunds a charged invoice.\npub fn refund_invoice(id: u64) {}\n");
    bob.run(&bob_ws, &["index"]);
    let found = bob.json(&bob_ws, &["search", "refund_invoice", "--mode", "fulltext", "--json"]);
    assert_eq!(found[0]["name"], "refund_invoice", "{found:?}");
    let hybrid = bob.json(&bob_ws, &["search", "give money back for an invoice", "--json", "--limit", "3"]);
    assert!(names(&hybrid).iter().any(|hit| hit.contains("refund_invoice")), "{hybrid:?}");

    // A clone on a branch that changed most files copies the rows of the rest one by one.
    let carol = Machine::new(&server, "team");
    let carol_ws = base.path().join("carol/app");
    clone(&alice_ws, &carol_ws);
    git(&carol_ws, &["checkout", "-q", "-b", "rewrite"]);
    for (file, added) in [
        ("src/lib.rs", "pub fn rewritten() {}"),
        ("src/billing.rs", "pub fn rewritten() {}"),
        ("web/api.ts", "export function rewritten() {}"),
    ] {
        let path = carol_ws.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{added}\n")).unwrap();
    }
    commit_all(&carol_ws, "rewrite");
    let (_, stderr) = carol.run(&carol_ws, &["index", "--no-embed"]);
    assert!(!stderr.contains("cloned the team's table"), "{stderr}");
    assert!(stderr.contains("copied 1 files"), "{stderr}");

    // The team's status shows the pushed ref.
    let status = bob.json(&bob_ws, &["team", "status", "--json"]);
    let team = &status[0]["team"];
    assert_eq!(team["reachable"], true, "{team}");
    let main = team["refs"].as_array().unwrap().iter().find(|r| r["git_ref"] == "main").expect("main was pushed");
    assert_eq!(main["files"], 4, "{team}");
    assert_eq!(main["symbols"], 7, "{team}");
    assert_eq!(status[0]["pending"]["files_to_send"], 0, "{}", status[0]);
}

#[test]
fn team_search_spans_repositories_and_reads_one_version_of_each_file() {
    let server = S3Server::start("zenith-federated");
    let base = tempfile::tempdir().unwrap();
    let (app, lib) = (base.path().join("app"), base.path().join("lib"));
    app_workspace(&app);
    repository(&app, "example.test/team/app");
    write(&lib, "src/retry.rs", "/// Retries a request with exponential backoff.\npub fn retry_with_backoff() {}\n");
    repository(&lib, "example.test/team/lib");
    let machine = Machine::new(&server, "fed");
    for ws in [&app, &lib] {
        machine.run(ws, &["index", "--no-embed"]);
        machine.run(ws, &["team", "push"]);
    }
    // A pull mirrors the other repositories locally; searches read the mirror from then on.
    let pulled = machine.json(&app, &["team", "pull", "--json"]);
    assert_eq!(pulled[0]["mirrored_repositories"], 1, "{}", pulled[0]);
    // From the app, `all` finds the library's function with its repository…
    let hits = machine.json(&app, &["search", "retry_with_backoff", "--mode", "fulltext", "--scope", "all", "--json"]);
    assert_eq!(hits[0]["name"], "retry_with_backoff", "{hits:?}");
    assert_eq!(hits[0]["repo"], "example.test/team/lib");
    let found = machine.json(&app, &["symbols", "retrywb", "--scope", "team", "--json"]);
    assert_eq!(found[0]["qualified_name"], "retry::retry_with_backoff", "{found:?}");
    assert_eq!(found[0]["repo"], "example.test/team/lib");
    // … and the app's own symbols once only, from the private index (the working tree wins).
    let own = machine.json(&app, &["search", "charge_invoice", "--mode", "fulltext", "--scope", "all", "--json"]);
    let charges: Vec<_> = own.iter().filter(|hit| hit["name"] == "charge_invoice").collect();
    assert_eq!(charges.len(), 1, "{own:?}");
    assert!(charges[0].get("repo").is_none_or(|r| r.is_null()), "{own:?}");

    // A new commit of the library replaces its view: the old version is never a hit again.
    write(&lib, "src/retry.rs", "/// Retries with a fixed delay.\npub fn retry_fixed_delay() {}\n");
    commit_all(&lib, "fixed delay");
    machine.run(&lib, &["index", "--no-embed"]);
    machine.run(&lib, &["team", "push"]);
    let old =
        machine.znt(&app).args(["search", "exponential backoff", "--mode", "fulltext", "--scope", "team"]).output();
    let old = old.unwrap();
    assert_eq!(old.status.code(), Some(1), "the old version is still found: {}", texts(&old).0);
    let new = machine.json(&app, &["search", "retry_fixed_delay", "--mode", "fulltext", "--scope", "team", "--json"]);
    assert_eq!(new[0]["name"], "retry_fixed_delay");
    // (The mirror was behind the new view, so those answers came from the remote.) Pulling
    // again brings the mirror to the new version: exactly the view, the old version gone.
    machine.run(&app, &["team", "pull"]);
    let mirror = machine
        .home
        .path()
        .join("cache/team")
        .join(&zenith::symbols::content_hash(machine.remote.as_bytes())[..16])
        .join(zenith::team::repo_slug("example.test/team/lib"));
    let rt = crate::support::runtime();
    let store = rt
        .block_on(zenith::store::Store::open(&zenith::store::StoreConfig::existing(mirror.to_string_lossy())))
        .unwrap();
    let names: Vec<String> = rt.block_on(store.all_symbols()).unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["retry_fixed_delay"]);
    let new = machine.json(&app, &["search", "retry_fixed_delay", "--mode", "fulltext", "--scope", "all", "--json"]);
    assert_eq!(new[0]["repo"], "example.test/team/lib");
}

#[test]
fn concurrent_pushers_lose_nothing() {
    let server = S3Server::start("zenith-race");
    let base = tempfile::tempdir().unwrap();
    let origin = base.path().join("origin");
    app_workspace(&origin);
    repository(&origin, "example.test/team/race");
    let machine = Machine::new(&server, "race");
    let clones: Vec<PathBuf> = (0..2).map(|i| base.path().join(format!("clone{i}"))).collect();
    for round in 0..3 {
        for (i, ws) in clones.iter().enumerate() {
            if round == 0 {
                clone(&origin, ws);
                git(ws, &["checkout", "-q", "-b", &format!("feature-{i}")]);
            }
            write(ws, &format!("src/round{round}_by{i}.rs"), &format!("pub fn made_in_round{round}_by{i}() {{}}\n"));
            commit_all(ws, &format!("round {round}"));
            machine.run(ws, &["index", "--no-embed", "--no-team"]);
        }
        // Both pushes start together and commit to the same two tables.
        let pushes: Vec<_> =
            clones.iter().map(|ws| machine.znt(ws).args(["team", "push", "--json"]).spawn().unwrap()).collect();
        for push in pushes {
            let output = push.wait_with_output().unwrap();
            assert!(output.status.success(), "a concurrent push failed: {}", texts(&output).1);
        }
    }
    // Every file of every round is in its branch's view, and its rows are in the table.
    let rt = crate::support::runtime();
    let views = rt.block_on(zenith::store::ViewTable::open(&machine.remote, &server.storage_options(), false)).unwrap();
    let rows = rt.block_on(views.rows(Some("example.test/team/race"))).unwrap();
    let table = team_table(&rt, &server, &machine, "example.test/team/race");
    let versions = rt.block_on(table.file_versions()).unwrap();
    for round in 0..3 {
        for i in 0..2 {
            let path = format!("src/round{round}_by{i}.rs");
            let row = rows.iter().find(|row| row.path == path && row.git_ref == format!("feature-{i}"));
            let row = row.unwrap_or_else(|| panic!("{path} is missing from feature-{i}'s view"));
            assert_eq!(versions.get(&(path.clone(), row.file_hash.clone())).map(|v| v.0), Some(1), "{path}");
        }
    }
    // No version is stored twice: each holds exactly the rows its view rows say.
    for row in rows.iter().filter(|row| !row.is_header()) {
        let stored = versions.get(&(row.path.clone(), row.file_hash.clone())).map(|v| v.0);
        assert_eq!(stored, Some(row.symbols as usize), "{} of {}", row.path, row.git_ref);
    }
}

#[test]
fn nothing_private_reaches_the_bucket() {
    let server = S3Server::start("zenith-private");
    let base = tempfile::tempdir().unwrap();
    let ws = base.path().join("app");
    // The fixture's secrets (a `.env`, a credentials module, a key file) and a git-ignored
    // file, an excluded directory and an uncommitted file, each with a marker.
    app_workspace(&ws);
    write(&ws, "ignored/leak.rs", "/// zenithignoredmarker\npub fn ignored_leak() {}\n");
    write(&ws, "fixtures/customers/data.rs", "/// zenithexcludedmarker\npub fn customer_data() {}\n");
    write(&ws, ".zenith.toml", "[team]\nexclude = [\"fixtures/customers/**\"]\n");
    write(&ws, "src/control.rs", "/// zenithcontrolmarker\npub fn control() {}\n");
    repository(&ws, "example.test/team/private");
    write(&ws, "src/wip.rs", "/// zenithuncommittedmarker\npub fn work_in_progress() {}\n");
    let machine = Machine::new(&server, "private");
    machine.run(&ws, &["index", "--no-embed"]);
    let (plan, _) = machine.run(&ws, &["team", "push", "--dry-run"]);
    assert!(plan.contains("skip  fixtures/customers/data.rs") && plan.contains("keep  src/wip.rs"), "{plan}");
    machine.run(&ws, &["team", "push"]);
    let objects = server.objects();
    let contains =
        |needle: &str| objects.iter().any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()));
    assert!(contains("zenithcontrolmarker"), "the scan would not see a leak");
    for marker in ["zenithignoredmarker", "zenithexcludedmarker", "zenithuncommittedmarker", crate::index::CANARY] {
        assert!(!contains(marker), "{marker} reached the bucket");
    }
}

#[test]
fn a_remote_that_is_down_fails_fast_and_local_answers_go_on() {
    let (server, _base, ws, mut machine) = team_setup("zenith-down", "example.test/team/down");
    machine.run(&ws, &["index", "--no-embed", "--no-team"]);
    // A port below the ephemeral range is never handed to a parallel test's server (a freed
    // ephemeral port can be, and then "unreachable" would be answered by that server).
    let port = 1;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "something listens on port {port}");
    let cases = [
        ("unreachable", format!("http://127.0.0.1:{port}"), "s3://zenith-down/team"),
        ("bucket does not exist", server.endpoint.clone(), "s3://no-such-bucket/down"),
    ];
    for (expected, endpoint, remote) in cases {
        machine.env.retain(|(key, _)| *key != "AWS_ENDPOINT_URL");
        machine.env.push(("AWS_ENDPOINT_URL", endpoint));
        machine.remote = remote.to_string();
        let started = Instant::now();
        let output = machine.znt(&ws).args(["team", "push"]).output().unwrap();
        let (_, stderr) = texts(&output);
        assert!(started.elapsed() < Duration::from_secs(10), "{expected}: took {:?}", started.elapsed());
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected) && stderr.trim().lines().count() == 1, "{expected}: {stderr}");
        // The private index still answers, and `index` goes on without the remote.
        let found = machine.json(&ws, &["symbols", "charge_invoice", "--json"]);
        assert_eq!(found[0]["name"], "charge_invoice");
        let (_, stderr) = machine.run(&ws, &["index", "--no-embed"]);
        assert!(stderr.contains("warning: nothing copied from the team remote"), "{stderr}");
        let status = machine.json(&ws, &["team", "status", "--json"]);
        assert_eq!(status[0]["team"]["reachable"], false, "{}", status[0]);
    }
}

#[test]
fn the_daemon_pushes_by_itself_after_each_commit() {
    let (_server, _base, ws, machine) = team_setup("zenith-autopush", "example.test/team/auto");
    write(machine.home.path(), "config/zenith/config.toml", "[team]\npush = \"on-commit\"\n");
    let mut daemon =
        machine.znt(&ws).args(["daemon", "--no-embed"]).stderr(std::process::Stdio::null()).spawn().unwrap();
    let pushed = |commit: &str, files: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = machine.json(&ws, &["team", "status", "--json"]);
            let main = &status[0]["team"]["refs"][0];
            if main["commit"] == commit && main["files"] == files {
                return;
            }
            assert!(Instant::now() < deadline, "the daemon did not push {commit}: {}", status[0]);
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    pushed(git(&ws, &["rev-parse", "HEAD"]).trim(), 4);
    write(&ws, "src/later.rs", "/// Written after the daemon started.\npub fn later() {}\n");
    commit_all(&ws, "later");
    pushed(git(&ws, &["rev-parse", "HEAD"]).trim(), 5);
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[test]
fn a_push_killed_between_its_commits_is_invisible_and_the_next_push_completes_it() {
    let (server, _base, ws, machine) = team_setup("zenith-crash", "example.test/team/crash");
    machine.run(&ws, &["index", "--no-embed"]);
    machine.run(&ws, &["team", "push"]);
    write(&ws, "src/billing.rs", "/// Refunds a customer's card payment.\npub fn refund_payment(id: u64) {}\n");
    commit_all(&ws, "refunds");
    machine.run(&ws, &["index", "--no-embed"]);
    let hash = machine.json(&ws, &["sql", "SELECT file_hash FROM symbols WHERE path = 'src/billing.rs'", "--json"]);
    let hash = hash[0]["file_hash"].as_str().unwrap().to_string();

    // The pusher dies (SIGABRT, as abrupt as kill -9) after the rows' commit, before the view's.
    let crashed = machine.znt(&ws).args(["team", "push"]).env("ZENITH_CRASH_POINT", "team-push-after-rows").output();
    let crashed = crashed.unwrap();
    assert!(!crashed.status.success(), "the crash point was not reached: {}", texts(&crashed).1);
    let rt = crate::support::runtime();
    let versions = |rt: &tokio::runtime::Runtime| {
        let table = team_table(rt, &server, &machine, "example.test/team/crash");
        rt.block_on(table.file_versions()).unwrap()
    };
    // The kill hit live work: the new version's rows were committed …
    assert_eq!(versions(&rt).get(&("src/billing.rs".to_string(), hash.clone())).map(|v| v.0), Some(1));
    // … yet readers still see the previous push whole: the old function, not the new one.
    let search = |query: &str| {
        machine.znt(&ws).args(["search", query, "--mode", "fulltext", "--scope", "team", "--json"]).output().unwrap()
    };
    assert_eq!(search("refund_payment").status.code(), Some(1), "a half-done push is visible");
    assert!(search("charge_invoice").status.success(), "the previous push is gone");

    // The next push completes it, and stores the version once.
    machine.run(&ws, &["team", "push"]);
    assert!(search("refund_payment").status.success());
    assert_eq!(search("charge_invoice").status.code(), Some(1), "the old version is still in the view");
    let versions = versions(&rt);
    assert_eq!(versions.get(&("src/billing.rs".to_string(), hash)).map(|v| v.0), Some(1), "{versions:?}");
}
