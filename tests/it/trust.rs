//! The privacy and safety promises, tried as an attacker would: read-only SQL that is really
//! read-only, secrets that never reach the index (by name or by content), a cloned workspace's
//! configuration that cannot send data away, one configuration for every front-end, the
//! workspace found from a subdirectory, and one writer per index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{S3Server, files_under};

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `znt` with a private cache (so nothing lands in the user's) and no inherited index location.
fn znt(cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_znt"));
    command
        .env("ZENITH_CACHE_DIR", cache)
        .env_remove("ZENITH_INDEX_DIR")
        // The pinned assets of the real cache, found without the network.
        .env("ZENITH_LANCE_EXTENSION", zenith::assets::cached_lance_extension())
        .env("ZENITH_MODEL_DIR", zenith::assets::cached_model_dir());
    command
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "znt failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Every file under `dir` (the lock file aside) with its sha256, to show that nothing was written.
fn file_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    files_under(dir)
        .into_iter()
        .filter(|path| path.file_name().is_none_or(|n| n != "zenith.lock"))
        .map(|path| {
            let hash = zenith::assets::sha256_file(&path).unwrap();
            (path, hash)
        })
        .collect()
}

/// Every file under `dir` with its bytes.
fn file_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir).into_iter().map(|path| (path.display().to_string(), std::fs::read(&path).unwrap())).collect()
}

/// `znt index --no-embed WORKSPACE` into `index`; panics with stderr on failure.
fn index_names_only(cache: &Path, index: &Path, workspace: &Path) {
    succeeded(znt(cache).arg("--index-dir").arg(index).args(["index", "--no-embed"]).arg(workspace).output().unwrap());
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

#[test]
fn sql_cannot_write_read_files_or_reach_the_lance_functions() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let sql = |query: &str| {
        znt(cache.path()).arg("--index-dir").arg(index.path()).args(["sql", query, "--json"]).output().unwrap()
    };
    index_names_only(cache.path(), index.path(), workspace.path());
    let status = || -> serde_json::Value {
        serde_json::from_str(&succeeded(
            znt(cache.path()).arg("--index-dir").arg(index.path()).args(["status", "--json"]).output().unwrap(),
        ))
        .unwrap()
    };
    let before_status = status();
    let before_files = file_hashes(index.path());

    // What a user may do still works.
    let names: Vec<String> = json_lines(&succeeded(sql(
        "SELECT name FROM symbols WHERE visibility = 'public' AND kind = 'function' AND doc IS NOT NULL ORDER BY name",
    )))
    .iter()
    .map(|row| row["name"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(names, ["fetchUser", "parse_config"]);
    let fts = json_lines(&succeeded(sql("SELECT name, _score FROM symbols_fts('welcome email', 3)")));
    assert_eq!(fts[0]["name"], "create_user", "{fts:?}");
    assert_eq!(json_lines(&succeeded(sql("(SELECT 1 AS one)"))), [serde_json::json!({"one": 1})]);
    assert_eq!(json_lines(&succeeded(sql("SELECT 'a;b' AS s;"))), [serde_json::json!({"s": "a;b"})]);
    let counted = json_lines(&succeeded(sql(
        "WITH named AS (SELECT name FROM symbols) SELECT count(*) AS n FROM named -- a comment",
    )));
    assert_eq!(counted[0]["n"], before_status["symbols"]);
    assert!(succeeded(sql("DESCRIBE symbols")).contains("qualified_name"));

    let dataset = index.path().join("symbols.lance").display().to_string();
    let source_file = workspace.path().join("app/service.py").display().to_string();
    let out = outside.path().join("out.csv").display().to_string();
    let attached = outside.path().join("x.duckdb").display().to_string();
    let extension = zenith::assets::cached_lance_extension().display().to_string();
    let battery = [
        "CREATE TABLE t AS SELECT 1".to_string(),
        "DELETE FROM symbols".into(),
        "DROP TABLE symbols".into(),
        "UPDATE symbols SET name = 'x'".into(),
        "INSERT INTO symbols SELECT * FROM symbols".into(),
        // Several statements, in every quoting style (the old lexer knew neither E'' nor $$).
        "SELECT 1; DROP TABLE symbols".into(),
        "SELECT E'\\''; DELETE FROM symbols; SELECT '1'".into(),
        "SELECT $$;$$; DELETE FROM symbols".into(),
        "SELECT 1 AS \"a;\"; DELETE FROM symbols".into(),
        "SELECT 1 /* ; */; DELETE FROM symbols".into(),
        "SELECT 1 -- ;\n; DELETE FROM symbols".into(),
        format!("SELECT 1) UNION ALL (SELECT 2); COPY symbols TO '{out}'; SELECT (1"),
        // Files, databases, extensions, settings.
        format!("COPY symbols TO '{out}'"),
        format!("COPY (SELECT * FROM symbols) TO '{out}' (FORMAT csv)"),
        format!("EXPORT DATABASE '{}'", outside.path().join("export").display()),
        format!("ATTACH '{attached}' AS x"),
        "INSTALL httpfs".into(),
        format!("LOAD '{extension}'"),
        "SET enable_external_access = true".into(),
        "SET lock_configuration = false".into(),
        "PRAGMA threads = 1".into(),
        "CALL pragma_version()".into(),
        format!("SELECT * FROM read_text('{source_file}')"),
        format!("SELECT * FROM read_csv('{source_file}')"),
        format!("SELECT * FROM read_blob('{source_file}')"),
        format!("SELECT * FROM '{source_file}'"),
        format!("SELECT * FROM glob('{}/*')", workspace.path().display()),
        format!("COPY (SELECT 1) TO '{out}'"),
        // The lance functions, by name and assembled from pieces inside query() / query_table().
        format!("SELECT * FROM '{dataset}'"),
        format!("SELECT * FROM lance_fts('{dataset}', 'search_text', 'user')"),
        format!("SELECT * FROM query('SELECT * FROM la' || 'nce_fts(''{dataset}'', ''search_text'', ''user'')')"),
        format!("SELECT * FROM query('SELECT * FROM __la' || 'nce_truncate_table(''{dataset}'')')"),
        format!("SELECT * FROM query('SELECT * FROM __la' || 'nce_compact_files(''{dataset}'')')"),
        format!("SELECT * FROM query('SELECT * FROM __la' || 'nce_cleanup_old_versions(''{dataset}'')')"),
        format!("SELECT * FROM query_table('{dataset}')"),
        format!("SELECT * FROM query_table('{source_file}')"),
    ];
    for statement in &battery {
        let output = sql(statement);
        assert_eq!(output.status.code(), Some(2), "{statement} must fail: {}", String::from_utf8_lossy(&output.stdout));
        assert!(output.stdout.is_empty(), "{statement} printed {}", String::from_utf8_lossy(&output.stdout));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{statement}: {stderr}");
    }
    for refused in ["DELETE FROM symbols", "SET enable_external_access = true", "INSTALL httpfs"] {
        let stderr = String::from_utf8_lossy(&sql(refused).stderr).to_string();
        assert!(stderr.contains("refused: only a query is allowed"), "{refused}: {stderr}");
    }
    let stderr = String::from_utf8_lossy(&sql("SELECT $$;$$; DELETE FROM symbols").stderr).to_string();
    assert!(stderr.contains("only one statement is allowed, found 2"), "{stderr}");
    // Secrets of the main database are not visible: the sandbox has none (DuckDB may also
    // refuse to look for persistent ones, as file access is off).
    assert!(sql("SELECT * FROM duckdb_secrets()").stdout.is_empty());

    // Nothing changed: the same version, the same bytes, nothing written outside.
    assert_eq!(status()["version"], before_status["version"]);
    assert_eq!(file_hashes(index.path()), before_files, "the index's files changed");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "something was written outside");
}

/// Canaries in the real formats (fake values), each in a module constant whose symbol is
/// indexed, so that without redaction the value would be in its signature.
const CONTENT_CANARIES: &[(&str, &str, &str, &str)] = &[
    // (file, symbol name, canary, distinctive part to scan for)
    ("settings.py", "SECRET_KEY", "django-insecure-q8$t4w^m2vn6lr0k#s3jd7hf1gc5bx9pa2ue4", "s3jd7hf1gc5bx9pa2ue4"),
    ("settings.py", "AWS_ACCESS_KEY_ID", "AKIAZ7QW3RT5YU2IOP4A", "AKIAZ7QW3RT5YU2IOP4A"),
    ("web/config.ts", "API_TOKEN", "ghp_Zq8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa2Ue4", "Zq8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa2Ue4"),
    ("web/app.js", "stripeKey", "sk_live_51Hq8Yt4Wm2Vn6Lr0Ks3Jd7Hf", "51Hq8Yt4Wm2Vn6Lr0Ks3Jd7Hf"),
    ("src/keys.rs", "SLACK_TOKEN", "xoxb-2048-4096-zQ8yT4wM2vN6lR0k", "zQ8yT4wM2vN6lR0k"),
    ("cmd/main.go", "googleKey", "AIzaSyD4q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa", "SyD4q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa"),
    ("App.java", "DB_PASSWORD", "Rq8Yt4Wm2Vn6Lr0Ks3Jx", "Rq8Yt4Wm2Vn6Lr0Ks3Jx"),
    ("lib/conf.rb", "API_SECRET", "Wq7Xt3Vm1Un5Kr9Js2Hd", "Wq7Xt3Vm1Un5Kr9Js2Hd"),
    ("conf.php", "AUTH_KEY", "Pq6Rt2Sm0Tn4Jr8Ls1Kd", "Pq6Rt2Sm0Tn4Jr8Ls1Kd"),
    (
        "keys.h",
        "PRIVATE_KEY",
        "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA0q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5",
        "MIIEpAIBAAKCAQEA0q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5",
    ),
    (
        "src/keys.rs",
        "sign",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6ZW5pdGgiLCJuIjoxfQ.c2lnbmF0dXJlLXZhbHVlLWZha2U",
        "c2lnbmF0dXJlLXZhbHVlLWZha2U",
    ),
];

/// Files the deny-list keeps out by name (supported languages, so only the deny-list stands
/// between their marker and the index), and ordinary source modules it must not drop.
const DENIED: &[&str] = &["config/Credentials.java", "ID_RSA.py", "secrets/db.py", "deploy/Secrets/keys.go"];
const KEPT: &[&str] = &["lib/secrets.py", "src/secret_sauce.rs"];
const DENIED_MARKER: &str = "zenithdeniedmarker";
const CONTROL_MARKER: &str = "zenithcontrolmarker";

fn canary_workspace(root: &Path) {
    let value = |name: &str| CONTENT_CANARIES.iter().find(|c| c.1 == name).unwrap().2;
    write(
        root,
        "settings.py",
        &format!(
            "SECRET_KEY = '{}'\nAWS_ACCESS_KEY_ID = \"{}\"\nGREETING = \"hello {CONTROL_MARKER}\"\n",
            value("SECRET_KEY"),
            value("AWS_ACCESS_KEY_ID")
        ),
    );
    write(root, "web/config.ts", &format!("export const API_TOKEN = \"{}\";\n", value("API_TOKEN")));
    write(root, "web/app.js", &format!("const stripeKey = \"{}\";\n", value("stripeKey")));
    write(
        root,
        "src/keys.rs",
        &format!(
            "pub const SLACK_TOKEN: &str = \"{}\";\n/// Signs requests, e.g. with the token {}.\npub fn sign() {{}}\n",
            value("SLACK_TOKEN"),
            value("sign")
        ),
    );
    write(root, "cmd/main.go", &format!("package main\n\nconst googleKey = \"{}\"\n", value("googleKey")));
    write(
        root,
        "App.java",
        &format!(
            "public class App {{\n    public static final String DB_PASSWORD = \"{}\";\n}}\n",
            value("DB_PASSWORD")
        ),
    );
    write(root, "lib/conf.rb", &format!("API_SECRET = '{}'\n", value("API_SECRET")));
    write(root, "conf.php", &format!("<?php\nconst AUTH_KEY = '{}';\n", value("AUTH_KEY")));
    write(root, "keys.h", &format!("#define PRIVATE_KEY \"{}\"\n", value("PRIVATE_KEY")));
    for denied in DENIED {
        let text = match Path::new(denied).extension().and_then(|e| e.to_str()) {
            Some("java") => format!("/** {DENIED_MARKER} */\npublic class Credentials {{}}\n"),
            Some("go") => format!("package keys\n\n// Keys holds {DENIED_MARKER}.\nfunc Keys() {{}}\n"),
            Some("json") => format!("{{\"k\": \"{DENIED_MARKER}\"}}\n"),
            _ => format!("def load():\n    \"\"\"{DENIED_MARKER} here.\"\"\"\n"),
        };
        write(root, denied, &text);
    }
    write(
        root,
        "lib/secrets.py",
        "def token_hex(nbytes=None):\n    \"\"\"Return a random text string, in hexadecimal.\"\"\"\n",
    );
    write(root, "src/secret_sauce.rs", "/// The recipe.\npub fn sauce() {}\n");
}

/// Asserts that no canary and no denied marker is in `files`, while the control marker (plain
/// text in the same files) is: the scan sees string data, so a leak would be seen too.
fn assert_clean(files: &[(String, Vec<u8>)], what: &str) {
    assert!(files.iter().any(|(_, bytes)| contains(bytes, CONTROL_MARKER)), "{what}: the control marker is nowhere");
    for (name, bytes) in files {
        for (_, symbol, _, part) in CONTENT_CANARIES {
            assert!(!contains(bytes, part), "{what}: the value of {symbol} is in {name}");
        }
        assert!(!contains(bytes, DENIED_MARKER), "{what}: a denied file's text is in {name}");
    }
}

#[test]
fn secrets_never_reach_any_column_index_file_or_uploaded_object() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    canary_workspace(workspace.path());
    succeeded(
        znt(cache.path()).arg("--index-dir").arg(index.path()).arg("index").arg(workspace.path()).output().unwrap(),
    );

    let rows = json_lines(&succeeded(
        znt(cache.path())
            .arg("--index-dir")
            .arg(index.path())
            .args(["sql", "SELECT * EXCLUDE (embedding) FROM symbols", "--json"])
            .output()
            .unwrap(),
    ));
    // Every symbol that carried a canary is indexed (a user may search for `SECRET_KEY`) …
    for (file, symbol, _, _) in CONTENT_CANARIES {
        let row = rows.iter().find(|r| r["name"] == *symbol && r["path"] == *file);
        let row = row.unwrap_or_else(|| panic!("{symbol} of {file} is not indexed"));
        let redacted = row["signature"].as_str().unwrap().contains("[REDACTED]")
            || row["doc"].as_str().is_some_and(|d| d.contains("[REDACTED]"));
        assert!(redacted, "{symbol}: {row}");
    }
    // … the deny-list keeps its files out by name, case-insensitively and by directory, but not
    // ordinary source modules that merely have `secret` in their name.
    let paths: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    for denied in DENIED {
        assert!(!paths.contains(denied), "{denied} was indexed");
    }
    for kept in KEPT {
        assert!(paths.contains(kept), "{kept} was not indexed: {paths:?}");
    }
    // … and no value survives in any column, nor in any file of the table and its indexes
    // (full-text postings included, searched case-insensitively).
    let columns: Vec<(String, Vec<u8>)> =
        rows.iter().map(|r| (format!("row {}", r["name"]), r.to_string().into_bytes())).collect();
    assert_clean(&columns, "the columns");
    assert_clean(&file_bytes(index.path()), "the index files");

    // The same workspace indexed straight into a bucket: no object holds a secret either.
    let server = S3Server::start("zenith-canaries");
    let mut command = znt(cache.path());
    command
        .envs(server.env())
        .args(["--index-dir", "s3://zenith-canaries/ws", "index", "--no-embed"])
        .arg(workspace.path());
    succeeded(command.output().unwrap());
    let objects = server.objects();
    assert!(objects.len() > 3, "{} objects", objects.len());
    assert_clean(&objects, "the bucket");
}

#[test]
fn a_workspace_config_cannot_send_the_index_off_the_machine() {
    let workspace = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let server = S3Server::start("someone-else");
    crate::index::fixture_workspace(workspace.path());
    write(workspace.path(), ".zenith.toml", "[index]\ndir = \"s3://someone-else/loot\"\n");
    let output =
        znt(cache.path()).envs(server.env()).args(["index", "--no-embed"]).arg(workspace.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".zenith.toml") && stderr.contains("index.dir"), "{stderr}");
    assert!(server.objects().is_empty(), "something was uploaded");
    // Every front-end reads the same file, so the language server refuses it too (tests/lsp);
    // the user's own flag is honoured.
    let index = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join(".zenith.toml"), "[index]\nmax_file_bytes = 100000\n").unwrap();
    index_names_only(cache.path(), index.path(), workspace.path());
}

/// Waits until `query` finds `name` in the index of `workspace` (default location).
fn wait_for_symbol(cache: &Path, workspace: &Path, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = znt(cache).arg("--workspace").arg(workspace).args(["symbols", name, "--json"]).output().unwrap();
        if output.status.success()
            && json_lines(&String::from_utf8_lossy(&output.stdout)).iter().any(|r| r["name"] == name)
        {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never appeared: {}", String::from_utf8_lossy(&output.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn indexed_paths(cache: &Path, workspace: &Path) -> Vec<String> {
    let rows = json_lines(&succeeded(
        znt(cache)
            .arg("--workspace")
            .arg(workspace)
            .args(["sql", "SELECT DISTINCT path FROM symbols ORDER BY path", "--json"])
            .output()
            .unwrap(),
    ));
    rows.iter().map(|r| r["path"].as_str().unwrap().to_string()).collect()
}

fn configured_workspace(root: &Path) {
    write(root, ".zenith.toml", "[index]\nskipped_dirs = [\"generated\"]\nmax_file_bytes = 300\n");
    write(root, "src/small.rs", "pub fn small() {}\n");
    write(root, "generated/gen.rs", "pub fn generated() {}\n");
    write(root, "src/big.rs", &format!("pub fn big() {{}}\n{}", "// padding\n".repeat(40)));
}

#[test]
fn index_and_daemon_take_the_workspace_configuration() {
    for front_end in ["index", "daemon"] {
        let workspace = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        configured_workspace(workspace.path());
        let _daemon = if front_end == "index" {
            succeeded(znt(cache.path()).args(["index", "--no-embed"]).arg(workspace.path()).output().unwrap());
            None
        } else {
            let child = znt(cache.path())
                .args(["daemon", "--no-embed"])
                .arg(workspace.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            wait_for_symbol(cache.path(), workspace.path(), "small");
            Some(KillOnDrop(child))
        };
        assert_eq!(indexed_paths(cache.path(), workspace.path()), ["src/small.rs"], "{front_end}");
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_workspace_is_found_from_a_subdirectory_and_a_missing_index_is_an_error() {
    let workspace = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    std::fs::create_dir(workspace.path().join(".git")).unwrap();
    // `znt index` from a subdirectory indexes the whole workspace …
    succeeded(
        znt(cache.path()).current_dir(workspace.path().join("src")).args(["index", "--no-embed"]).output().unwrap(),
    );
    // … and a query from another subdirectory reads that same index.
    let found = json_lines(&succeeded(
        znt(cache.path())
            .current_dir(workspace.path().join("app"))
            .args(["symbols", "fetchUser", "--json"])
            .output()
            .unwrap(),
    ));
    assert_eq!(found[0]["path"], "web/api.ts");
    // Somewhere nothing was indexed: an error that says how to build the index, not an empty
    // index created behind the user's back.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = znt(cache.path())
        .current_dir(elsewhere.path())
        .args(["search", "anything", "--mode", "fulltext"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("there is no index") && stderr.contains("znt index"), "{stderr}");
    let indexes = cache.path().join("indexes");
    assert_eq!(std::fs::read_dir(&indexes).unwrap().count(), 1, "a second index was created");
}

#[test]
fn znt_index_refuses_to_write_beside_another_writer() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let lock = zenith::daemon::IndexLock::acquire(&index.path().to_string_lossy()).unwrap();
    let output = znt(cache.path())
        .arg("--index-dir")
        .arg(index.path())
        .args(["index", "--no-embed"])
        .arg(workspace.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already writing"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(lock);
    index_names_only(cache.path(), index.path(), workspace.path());
}

#[test]
fn an_extension_with_another_hash_is_refused_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let staged = dir.path().join("lance.duckdb_extension");
    std::fs::write(&staged, b"not the pinned build").unwrap();
    let error = zenith::assets::adopt_lance_extension(&staged).unwrap_err();
    assert!(matches!(error, zenith::assets::AssetError::HashMismatch { .. }), "{error}");
    assert!(!staged.exists());
}
