//! The dependency tier on real lock files and real package sources of this machine: the cargo
//! registry sources the build itself downloaded, a small npm project and a virtualenv with
//! pinned PyPI packages (both installed by `scripts/setup`), and a real S3-compatible server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::S3Server;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/deps")
}

/// Registry versions of this repository's own `Cargo.lock`: name → versions.
fn locked_versions() -> std::collections::BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let lock: toml::Value = toml::from_str(&text).unwrap();
    let mut versions: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for package in lock["package"].as_array().unwrap() {
        if package.get("source").and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("registry+")) {
            versions
                .entry(package["name"].as_str().unwrap().to_string())
                .or_default()
                .push(package["version"].as_str().unwrap().to_string());
        }
    }
    versions
}

fn version_of(name: &str) -> String {
    locked_versions()[name][0].clone()
}

/// A `Cargo.lock` naming these registry packages (and the workspace's own package).
fn cargo_lock(packages: &[(&str, &str)], extra: &str) -> String {
    let mut text = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n".to_string();
    for (name, version) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \
             \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    text + extra
}

/// One machine: its own dependency cache, index directory and (optionally) a team remote.
struct Machine {
    home: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Machine {
    fn new() -> Machine {
        Machine { home: tempfile::tempdir().unwrap(), env: Vec::new() }
    }

    fn deps_dir(&self) -> PathBuf {
        self.home.path().join("deps")
    }

    fn znt(&self, workspace: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_znt"));
        command
            .current_dir(workspace)
            .env("ZENITH_CACHE_DIR", self.home.path().join("cache"))
            .env("ZENITH_DEPS_DIR", self.deps_dir())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env_remove("ZENITH_INDEX_DIR")
            .env_remove("ZENITH_TEAM_REMOTE")
            .env_remove("VIRTUAL_ENV")
            .env("ZENITH_LANCE_EXTENSION", zenith::assets::cached_lance_extension())
            .env("ZENITH_MODEL_DIR", zenith::assets::cached_model_dir())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("--workspace")
            .arg(workspace)
            .arg("--index-dir")
            .arg(self.home.path().join("index"));
        command
    }

    fn output(&self, workspace: &Path, args: &[&str]) -> Output {
        self.znt(workspace).args(args).output().unwrap()
    }

    fn run(&self, workspace: &Path, args: &[&str]) -> String {
        let output = self.output(workspace, args);
        assert!(output.status.success(), "znt {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    fn json(&self, workspace: &Path, args: &[&str]) -> Vec<serde_json::Value> {
        self.run(workspace, args).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// Results of a query that may find nothing (exit status 1, as grep).
    fn found(&self, workspace: &Path, args: &[&str]) -> Vec<serde_json::Value> {
        let output = self.output(workspace, args);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "znt {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    fn index(&self, workspace: &Path, embed: bool) -> serde_json::Value {
        let args: &[&str] =
            if embed { &["deps", "index", "--json"] } else { &["deps", "index", "--no-embed", "--json"] };
        self.json(workspace, args).remove(0)
    }

    fn status(&self, workspace: &Path) -> serde_json::Value {
        self.json(workspace, &["deps", "status", "--json"]).remove(0)
    }
}

fn package<'s>(status: &'s serde_json::Value, name: &str) -> &'s serde_json::Value {
    status["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {status}"))
}

fn workspace_with(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn cargo_dependencies_come_from_the_registry_sources_with_their_public_api_only() {
    let machine = Machine::new();
    let base = tempfile::tempdir().unwrap();
    let ws = base.path().join("app");
    let (serde_json, itoa) = (version_of("serde_json"), version_of("itoa"));
    let git =
        "\n[[package]]\nname = \"forked\"\nversion = \"0.1.0\"\nsource = \"git+https://example.invalid/forked#abc\"\n";
    let lock = cargo_lock(&[("serde_json", &serde_json), ("itoa", &itoa), ("zenith-no-such-crate", "9.9.9")], git);
    workspace_with(&ws, &[("Cargo.lock", &lock)]);

    let report = machine.index(&ws, false);
    assert_eq!(report["packages"], 4, "{report}");
    assert_eq!(report["indexed"], 2, "{report}");
    assert_eq!(report["missing"], 2, "{report}");

    let status = machine.status(&ws);
    assert_eq!(package(&status, "serde_json")["version"], serde_json.as_str());
    assert_eq!(package(&status, "serde_json")["state"], "names");
    assert!(package(&status, "serde_json")["symbols"].as_u64().unwrap() > 100, "{status}");
    let missing = package(&status, "zenith-no-such-crate");
    assert_eq!(missing["state"], "missing");
    assert!(missing["reason"].as_str().unwrap().contains("cargo registry"), "{missing}");
    assert!(package(&status, "forked")["reason"].as_str().unwrap().contains("git+https://example.invalid/forked"));

    // A known signature, at the locked version, with the file on disk.
    let hits = machine.json(&ws, &["symbols", "from_str", "--package", "serde_json", "--json", "--limit", "50"]);
    let from_str = hits.iter().find(|h| h["qualified_name"] == "de::from_str").unwrap_or_else(|| panic!("{hits:?}"));
    let signature = from_str["signature"].as_str().unwrap();
    assert!(signature.starts_with("pub fn from_str<'a, T>(s: &'a str)"), "{signature}");
    assert_eq!(from_str["package"]["version"], serde_json.as_str());
    let file = PathBuf::from(from_str["package"]["file"].as_str().unwrap());
    assert!(file.ends_with(format!("serde_json-{serde_json}/src/de.rs")) && file.is_file(), "{file:?}");
    // The query prefix does the same as --package.
    let prefixed =
        machine.json(&ws, &["symbols", "serde_json::from_str", "--scope", "deps", "--json", "--limit", "50"]);
    assert!(prefixed.iter().all(|h| h["package"]["name"] == "serde_json") && !prefixed.is_empty());

    // Private items are not indexed: `Deserializer::parse_whitespace` is a private method.
    let source = std::fs::read_to_string(&file).unwrap();
    assert!(source.contains("fn parse_whitespace(&mut self)"), "the control is in the source");
    let private = machine.found(&ws, &["symbols", "parse_whitespace", "--package", "serde_json", "--json"]);
    assert!(private.iter().all(|h| h["name"] != "parse_whitespace"), "{private:?}");

    // A one-off name search reads only the names that can match; it ranks exactly as the
    // index over every name does (the server's).
    let scope = zenith::deps::DepsScope::load(&zenith::deps::Cache::at(machine.deps_dir()), &ws).unwrap();
    let engine = crate::support::engine();
    let every = zenith::query::names::NameIndex::new(scope.name_entries(&engine).unwrap());
    for query in ["from_str", "Deserializer", "de", "ws", "to_Str", "i%", "a_b", "\\", "Ser::v", ""] {
        let matching = scope.name_entries_matching(&engine, query).unwrap();
        assert!(query.is_empty() || matching.len() < every.len(), "{query:?} read every name");
        let narrow = zenith::query::names::NameIndex::new(matching);
        let names = |index: &zenith::query::names::NameIndex| -> Vec<(String, String, u32)> {
            index.search(query, 200).into_iter().map(|m| (m.entry.name, m.entry.path, m.entry.start_line)).collect()
        };
        assert_eq!(names(&narrow), names(&every), "{query:?}");
    }
    assert!(every.search("from_str", 10).iter().any(|m| m.entry.name == "from_str"));

    // The servers' names: a `package::` query ranks that package's own index, cut from the
    // whole one, exactly as the whole index ranks under a filter to the package.
    let served = zenith::deps::DepsNames::load(scope.clone(), &engine).unwrap();
    let prefix = format!("cargo/serde_json/{serde_json}/");
    let in_package = |entry: &zenith::query::names::NameEntry| entry.path.starts_with(&prefix);
    for (query, text) in [("serde_json::from_str", "from_str"), ("serde_json::De", "De"), ("serde_json :: v", "v")] {
        for _ in 0..2 {
            // (the second time from the kept package index)
            let found: Vec<(String, String, u32)> = served
                .search(query, 50, &|_| true)
                .into_iter()
                .inspect(|m| assert_eq!(m.key, format!("cargo/serde_json/{serde_json}")))
                .map(|m| (m.found.entry.name, format!("{prefix}{}", m.found.entry.path), m.found.entry.start_line))
                .collect();
            let expected: Vec<(String, String, u32)> = every
                .search_strict(text, 50, &in_package)
                .into_iter()
                .map(|m| (m.entry.name, m.entry.path, m.entry.start_line))
                .collect();
            assert!(!expected.is_empty(), "{query:?}");
            assert_eq!(found, expected, "{query:?}");
        }
    }
    let plain: Vec<String> = served.search("to_string", 20, &|_| true).into_iter().map(|m| m.key).collect();
    assert!(plain.iter().any(|key| key.contains("serde_json")), "{plain:?}");

    // Full-text search over dependencies names the package of each hit.
    let found = machine.json(
        &ws,
        &["search", "serialize a value as a JSON string", "--scope", "deps", "--mode", "fulltext", "--json"],
    );
    assert!(
        found.iter().any(|h| h["qualified_name"] == "ser::to_string" && h["package"]["name"] == "serde_json"),
        "{found:?}"
    );
}

#[test]
fn npm_and_python_packages_are_read_from_node_modules_and_the_virtualenv() {
    let machine = Machine::new();
    let base = tempfile::tempdir().unwrap();
    let npm = fixtures().join("npm");
    assert!(npm.join("node_modules/p-limit/package.json").is_file(), "scripts/setup installs the npm fixture");
    let js = base.path().join("web");
    workspace_with(&js, &[("package-lock.json", &std::fs::read_to_string(npm.join("package-lock.json")).unwrap())]);
    std::os::unix::fs::symlink(npm.join("node_modules"), js.join("node_modules")).unwrap();
    let report = machine.index(&js, false);
    assert_eq!((report["indexed"].as_u64(), report["missing"].as_u64()), (Some(3), Some(0)), "{report}");
    let status = machine.status(&js);
    assert_eq!(package(&status, "p-limit")["version"], "6.2.0");
    assert_eq!(package(&status, "yocto-queue")["ecosystem"], "npm");
    let hits = machine.json(&js, &["symbols", "pLimit", "--scope", "deps", "--json"]);
    let p_limit = hits.iter().find(|h| h["name"] == "pLimit").unwrap_or_else(|| panic!("{hits:?}"));
    assert!(p_limit["signature"].as_str().unwrap().contains("concurrency: number"), "{p_limit}");
    assert_eq!(p_limit["path"], "index.d.ts", "declaration files are the package's API");

    let venv = fixtures().join("python/.venv");
    assert!(venv.join("bin/python").exists(), "scripts/setup creates the virtualenv fixture");
    let py = base.path().join("service");
    workspace_with(
        &py,
        &[("requirements.txt", "idna==3.10\nattrs==25.3.0\nzenith-no-such-package==1.0\nrequests>=2\n")],
    );
    std::os::unix::fs::symlink(&venv, py.join(".venv")).unwrap();
    let report = machine.index(&py, false);
    assert_eq!((report["indexed"].as_u64(), report["missing"].as_u64()), (Some(2), Some(1)), "{report}");
    let status = machine.status(&py);
    let missing = package(&status, "zenith-no-such-package");
    assert!(missing["reason"].as_str().unwrap().contains("not installed"), "{missing}");
    let hits = machine.json(&py, &["symbols", "encode", "--package", "idna", "--json"]);
    let encode = hits.iter().find(|h| h["qualified_name"] == "idna.core.encode").unwrap_or_else(|| panic!("{hits:?}"));
    assert!(encode["signature"].as_str().unwrap().starts_with("def encode("), "{encode}");
    // `_combining_class` is private by the language's convention.
    let private = machine.found(&py, &["symbols", "_combining_class", "--package", "idna", "--json"]);
    assert!(private.iter().all(|h| h["name"] != "_combining_class"), "{private:?}");
    let attrs = machine.json(&py, &["symbols", "define", "--package", "attrs", "--json"]);
    assert!(attrs.iter().any(|h| h["name"] == "define"), "{attrs:?}");
}

#[test]
fn workspaces_share_package_tables_and_unused_versions_are_collected() {
    let machine = Machine::new();
    let base = tempfile::tempdir().unwrap();
    // A crate this repository locks at two versions, both downloaded by the build.
    let name = "base64".to_string();
    let versions = locked_versions().remove(&name).unwrap_or_default();
    assert!(versions.len() >= 2, "this repository locks base64 at several versions: {versions:?}");
    let (old, new) = (versions[0].clone(), versions[1].clone());
    let (a, b) = (base.path().join("a"), base.path().join("b"));
    workspace_with(&a, &[("Cargo.lock", &cargo_lock(&[(&name, &old), ("itoa", &version_of("itoa"))], ""))]);
    workspace_with(&b, &[("Cargo.lock", &cargo_lock(&[(&name, &old)], ""))]);
    assert_eq!(machine.index(&a, false)["indexed"], 2);
    let second = machine.index(&b, false);
    assert_eq!((second["indexed"].as_u64(), second["reused"].as_u64()), (Some(0), Some(1)), "{second}");
    let tables = |version: &str| machine.deps_dir().join("packages/cargo").join(&name).join(version);
    assert!(tables(&old).join("symbols.lance").is_dir());
    // In-memory name indexes reload when the names change, not when vectors are filled in.
    let cache = zenith::deps::Cache::at(machine.deps_dir());
    let fingerprint = || zenith::deps::DepsScope::load(&cache, &b).unwrap().fingerprint();
    let names_only = fingerprint();
    let embedded = machine.index(&b, true);
    assert!(embedded["embedded"].as_u64().unwrap() > 0, "{embedded}");
    assert_eq!(fingerprint(), names_only, "embedding changed the names' fingerprint");

    // b bumps the crate: the new version is indexed, the old one stays while a uses it.
    workspace_with(&b, &[("Cargo.lock", &cargo_lock(&[(&name, &new)], ""))]);
    let bumped = machine.index(&b, false);
    assert_eq!((bumped["indexed"].as_u64(), bumped["collected"].as_u64()), (Some(1), Some(0)), "{bumped}");
    assert_ne!(fingerprint(), names_only, "a new version's names must reload the index");
    assert!(tables(&old).is_dir() && tables(&new).is_dir());
    let versions_in = |ws: &Path| -> Vec<String> {
        machine
            .json(ws, &["symbols", "encode", "--scope", "deps", "--json", "--limit", "50"])
            .iter()
            .map(|h| h["package"]["version"].as_str().unwrap().to_string())
            .collect()
    };
    let seen = versions_in(&b);
    assert!(!seen.is_empty() && seen.iter().all(|v| *v == new), "each workspace searches its own versions: {seen:?}");

    // Once no workspace uses the old version, it goes (table and catalog rows).
    std::fs::remove_dir_all(&a).unwrap();
    let collected = machine.json(&b, &["deps", "gc", "--json"]).remove(0);
    assert_eq!(collected["removed"], 2, "{collected}"); // the old version and itoa
    assert!(!tables(&old).exists() && tables(&new).is_dir());
    let catalog = zenith::store::dataset_uri_for(&machine.deps_dir().join("catalog").to_string_lossy());
    let engine = crate::support::engine();
    let paths: Vec<String> = engine.name_entries(&catalog).unwrap().into_iter().map(|e| e.path).collect();
    assert!(paths.iter().all(|p| p.starts_with(&format!("cargo/{name}/{new}/"))), "only the used version is left");
}

#[test]
fn package_tables_go_to_the_team_remote_once_and_serve_a_teammate_without_sources() {
    let server = S3Server::start("zenith-deps");
    let base = tempfile::tempdir().unwrap();
    let ws = base.path().join("app");
    workspace_with(&ws, &[("Cargo.lock", &cargo_lock(&[("itoa", &version_of("itoa"))], ""))]);
    let remote = format!("s3://{}/team", server.bucket);
    let with_remote = |machine: &mut Machine| {
        machine.env = server.env();
        machine.env.push(("ZENITH_TEAM_REMOTE", remote.clone()));
    };
    let mut first = Machine::new();
    with_remote(&mut first);
    let report = first.index(&ws, true);
    assert_eq!((report["indexed"].as_u64(), report["pushed"].as_u64()), (Some(1), Some(1)), "{report}");
    let itoa = version_of("itoa");
    let key = format!("team/deps/cargo/itoa/{itoa}/symbols.lance/");
    assert!(
        server.objects().iter().any(|(name, _)| name.starts_with(&key)),
        "the remote layout is deps/{{eco}}/{{name}}/{{version}}"
    );

    // A teammate whose machine has no sources at all copies the table, vectors included.
    let mut second = Machine::new();
    with_remote(&mut second);
    second.env.push(("CARGO_HOME", second.home.path().join("no-cargo").display().to_string()));
    let report = second.index(&ws, true);
    assert_eq!((report["pulled"].as_u64(), report["indexed"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!((report["embedded"].as_u64(), report["pushed"].as_u64()), (Some(0), Some(0)), "{report}");
    let status = second.status(&ws);
    assert_eq!(package(&status, "itoa")["state"], "indexed", "{status}");
    let hits = second.json(&ws, &["search", "format an integer into a buffer", "--scope", "deps", "--json"]);
    assert!(hits.iter().any(|h| h["package"]["name"] == "itoa"), "{hits:?}");

    // A remote that is down costs a warning, never the local index.
    let mut third = Machine::new();
    third.env =
        vec![("ZENITH_TEAM_REMOTE", "s3://zenith-deps/team".into()), ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into())];
    third.env.extend([
        ("AWS_ACCESS_KEY_ID", "x".into()),
        ("AWS_SECRET_ACCESS_KEY", "y".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ALLOW_HTTP", "true".into()),
    ]);
    let output = third.output(&ws, &["deps", "index", "--no-embed", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["indexed"], 1, "{report}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("team remote"));
}
