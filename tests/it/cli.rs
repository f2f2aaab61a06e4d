//! The `znt` binary as a user runs it: subcommands, `--json` shapes, errors, broken pipes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn znt(args: &[&str], index: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_znt")).arg("--index-dir").arg(index).args(args).output().unwrap()
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "znt failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

const JSON_KEYS: [&str; 10] =
    ["name", "qualified_name", "kind", "language", "path", "start_line", "end_line", "signature", "doc", "score"];

#[test]
fn index_symbols_search_and_status_work_end_to_end() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let output = znt(&["index", workspace.path().to_str().unwrap()], index.path());
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("indexed") && stderr.contains("embedded"), "{stderr}");

    let symbols = json_lines(&ok(znt(&["symbols", "pcfg", "--json"], index.path())));
    assert_eq!(symbols[0]["name"], "parse_config");
    for key in JSON_KEYS {
        assert!(symbols[0].get(key).is_some(), "symbols --json lacks {key}: {}", symbols[0]);
    }

    let hits = json_lines(&ok(znt(
        &["search", "create an account for a new user", "--mode", "semantic", "--json", "--limit", "3"],
        index.path(),
    )));
    assert_eq!(hits[0]["name"], "create_user", "{hits:?}");
    assert_eq!(hits[0]["path"], "app/service.py");
    assert_eq!(hits[0]["start_line"], 4);
    for key in JSON_KEYS {
        assert!(hits[0].get(key).is_some(), "search --json lacks {key}");
    }
    let text = ok(znt(&["search", "fetch user over http", "--lang", "typescript"], index.path()));
    assert!(text.starts_with("web/api.ts:2  function  fetchUser"), "{text}");

    let status: serde_json::Value = serde_json::from_str(&ok(znt(&["status", "--json"], index.path()))).unwrap();
    assert!(status["symbols"].as_u64().unwrap() >= 6);
    assert_eq!(status["symbols"], status["embedded"]);
    assert_eq!(status["ready"], true, "{status}");
    assert!(status["config_files"].is_array(), "{status}");
}

#[test]
fn symbols_json_carries_the_signature_and_doc_and_nothing_found_exits_with_1() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    std::fs::write(workspace.path().join(".zenith.toml"), "[index]\nmax_file_bytes = 65536\n").unwrap();
    let in_workspace = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_znt"))
            .arg("--index-dir")
            .arg(index.path())
            .arg("--workspace")
            .arg(workspace.path())
            .args(args)
            .output()
            .unwrap()
    };
    ok(in_workspace(&["index", "--no-embed", "-q"]));
    let symbols = json_lines(&ok(in_workspace(&["symbols", "create_user", "--json"])));
    assert_eq!(symbols[0]["name"], "create_user");
    assert!(symbols[0]["signature"].as_str().unwrap().contains("def create_user"), "{}", symbols[0]);
    assert!(symbols[0]["doc"].as_str().is_some_and(|doc| !doc.is_empty()), "{}", symbols[0]);
    assert_eq!(symbols[0]["visibility"], "public");

    for args in [&["symbols", "zzqqxxnothing"][..], &["search", "zzqqxxnothing", "--mode", "fulltext"][..]] {
        let nothing = in_workspace(args);
        assert_eq!(nothing.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&nothing.stderr));
        assert!(nothing.stdout.is_empty() && nothing.stderr.is_empty(), "{args:?}");
    }

    let colored = String::from_utf8(in_workspace(&["symbols", "create_user", "--color", "always"]).stdout).unwrap();
    assert!(colored.contains("\u{1b}[") && colored.contains("create_user"), "{colored:?}");
    let plain = Command::new(env!("CARGO_BIN_EXE_znt"))
        .env("NO_COLOR", "1")
        .arg("--index-dir")
        .arg(index.path())
        .args(["symbols", "create_user", "--color", "auto"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));

    let status = ok(in_workspace(&["status"]));
    assert!(
        status.contains("ready     yes: names and full text") || status.contains("ready     names and full text"),
        "{status}"
    );
    let config = workspace.path().join(".zenith.toml").canonicalize().unwrap();
    assert!(status.contains(&config.display().to_string()), "status names the config file it read: {status}");
}

#[test]
fn completions_and_man_pages_come_from_the_command_definitions() {
    let run = |args: &[&str]| ok(Command::new(env!("CARGO_BIN_EXE_znt")).args(args).output().unwrap());
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("_znt()") && bash.contains("symbols") && bash.contains("--index-dir"), "{bash}");
    let zsh = run(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef znt"), "{zsh}");
    let fish = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c znt"), "{fish}");
    let man = run(&["man"]);
    assert!(man.contains(".TH znt 1") && man.contains("completions"), "{man}");
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--dir", dir.path().to_str().unwrap()]);
    for page in ["znt.1", "znt-index.1", "znt-search.1", "znt-serve.1"] {
        assert!(dir.path().join(page).is_file(), "{page} missing");
    }
    let usage = Command::new(env!("CARGO_BIN_EXE_znt")).args(["search"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "invalid usage exits with 2");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    for n in 0..300 {
        let path = workspace.path().join(format!("m{n}.py"));
        std::fs::write(path, format!("def function_{n}():\n    pass\n")).unwrap();
    }
    ok(znt(&["index", "--no-embed", workspace.path().to_str().unwrap()], index.path()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_znt"))
        .arg("--index-dir")
        .arg(index.path())
        .args(["symbols", "function", "--limit", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is gone (like `| head -1`); the rest of the output hits a broken pipe.
    let output = child.wait_with_output().unwrap();
    assert!(first.contains("function_"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("error"));
}

#[test]
fn a_missing_model_is_one_clear_error_and_names_still_work() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let empty_cache = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_znt"))
            .env("ZENITH_CACHE_DIR", empty_cache.path())
            .env("ZENITH_OFFLINE", "1")
            // The lance extension is still found through the explicit variable.
            .env("ZENITH_LANCE_EXTENSION", zenith::assets::cached_lance_extension())
            .arg("--index-dir")
            .arg(index.path())
            .args(args)
            .output()
            .unwrap()
    };
    let indexed = run(&["index", workspace.path().to_str().unwrap()]);
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));
    let warning = String::from_utf8_lossy(&indexed.stderr);
    assert!(warning.contains("warning: embeddings skipped"), "{warning}");
    assert!(warning.contains("ZENITH_MODEL_DIR"), "the error says how to provide the model: {warning}");
    let names = run(&["symbols", "UserService"]);
    assert!(String::from_utf8_lossy(&names.stdout).contains("UserService"));
    let semantic = run(&["search", "users", "--mode", "semantic"]);
    assert_eq!(semantic.status.code(), Some(2), "an error exits with 2 (1 means nothing found)");
    let stderr = String::from_utf8_lossy(&semantic.stderr);
    assert!(stderr.starts_with("error: the embedding model all-MiniLM-L6-v2 is not available"), "{stderr}");
    let explicit = Command::new(env!("CARGO_BIN_EXE_znt"))
        .env("ZENITH_MODEL_DIR", "/nonexistent/model")
        .arg("--index-dir")
        .arg(index.path())
        .args(["search", "users", "--mode", "semantic"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&explicit.stderr).trim(),
        "error: ZENITH_MODEL_DIR points to /nonexistent/model, which does not exist"
    );
}

#[test]
fn an_unusable_index_directory_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let inside_a_file = file.path().join("index");
    let output = Command::new(env!("CARGO_BIN_EXE_znt"))
        .arg("--index-dir")
        .arg(&inside_a_file)
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: opening the index at"), "{stderr}");
    assert!(stderr.contains(&inside_a_file.display().to_string()), "{stderr}");
}

#[test]
fn sql_answers_structured_questions() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    ok(znt(&["index", "--no-embed", workspace.path().to_str().unwrap()], index.path()));
    let rows = json_lines(&ok(znt(
        &[
            "sql",
            "SELECT name, path FROM symbols WHERE visibility = 'public' AND kind = 'function' AND doc IS NOT NULL ORDER BY name",
            "--json",
        ],
        index.path(),
    )));
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fetchUser", "parse_config"]);
    let fts =
        json_lines(&ok(znt(&["sql", "SELECT name FROM symbols_fts('welcome email', 3)", "--json"], index.path())));
    assert_eq!(fts[0]["name"], "create_user");
    let table = ok(znt(&["sql", "SELECT count(*) AS n FROM symbols"], index.path()));
    assert!(table.contains("| n "), "{table}");

    // Every way of writing or reaching outside the index is refused: `trust::sql_cannot_write…`.
    // Nothing was changed.
    let count = json_lines(&ok(znt(&["sql", "SELECT count(*) AS n FROM symbols", "--json"], index.path())));
    assert!(count[0]["n"].as_u64().unwrap() >= 6);
}
