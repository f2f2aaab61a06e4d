//! Lock files → the exact package versions a workspace uses. Pure: text in, packages out.
//!
//! Read: `Cargo.lock`; `package-lock.json` (v1–v3), `pnpm-lock.yaml`, `yarn.lock` (v1 and
//! berry); `uv.lock`, `poetry.lock`, `requirements*.txt` (only `==` pins); `go.sum`. Entries
//! that are the workspace itself (path, workspace, editable or virtual sources) are not
//! dependencies and are left out; what cannot be indexed says why in `Locked::unsupported`.

use serde::{Deserialize, Serialize};

/// A package registry family: one naming and one source layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Cargo,
    Npm,
    Pypi,
    Go,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Go => "go",
        }
    }

    pub fn parse(text: &str) -> Option<Ecosystem> {
        Some(match text {
            "cargo" => Ecosystem::Cargo,
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::Pypi,
            "go" => Ecosystem::Go,
            _ => return None,
        })
    }
}

/// One version of one package: the unit that is indexed once and shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

impl Package {
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Package {
        let name = name.into();
        // PyPI names compare normalized (PEP 503): `Flask_Cors` and `flask-cors` are one package.
        let name = if ecosystem == Ecosystem::Pypi { normalize_pypi(&name) } else { name };
        Package { ecosystem, name, version: version.into() }
    }

    /// `{ecosystem}/{name}/{version}`: the package's place in the cache and on the remote.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.ecosystem.as_str(), self.name, self.version)
    }

    /// The inverse of [`Package::key`] (names may contain `/`: scoped npm and Go modules).
    pub fn from_key(key: &str) -> Option<Package> {
        let (ecosystem, rest) = key.split_once('/')?;
        let (name, version) = rest.rsplit_once('/')?;
        Some(Package { ecosystem: Ecosystem::parse(ecosystem)?, name: name.into(), version: version.into() })
    }
}

impl std::fmt::Display for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.name, self.version, self.ecosystem.as_str())
    }
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A package version as one lock file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub package: Package,
    /// Where its sources are, when the lock file says it (npm's `node_modules/...` keys).
    pub install_path: Option<String>,
    /// Why it cannot be indexed whatever is on disk (a git or URL source, …).
    pub unsupported: Option<String>,
}

impl Locked {
    fn new(package: Package) -> Locked {
        Locked { package, install_path: None, unsupported: None }
    }
}

/// The lock files Zenith reads, by file name.
pub fn is_lock_file(name: &str) -> bool {
    matches!(
        name,
        "Cargo.lock" | "package-lock.json" | "pnpm-lock.yaml" | "yarn.lock" | "uv.lock" | "poetry.lock" | "go.sum"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// Errors of a lock file that cannot be read as its format.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LockError {
    pub file: String,
    pub message: String,
}

/// The packages of one lock file (`name` is its file name; it picks the format).
pub fn parse_lock(name: &str, text: &str) -> Result<Vec<Locked>, LockError> {
    let error = |message: String| LockError { file: name.to_string(), message };
    let mut found = match name {
        "Cargo.lock" => cargo_lock(text).map_err(error)?,
        "package-lock.json" => package_lock(text).map_err(error)?,
        "pnpm-lock.yaml" => pnpm_lock(text).map_err(error)?,
        "yarn.lock" => yarn_lock(text).map_err(error)?,
        "uv.lock" | "poetry.lock" => python_toml_lock(text).map_err(error)?,
        "go.sum" => go_sum(text),
        _ if is_lock_file(name) => requirements(text),
        _ => return Err(error("not a lock file Zenith reads".into())),
    };
    found.sort_by(|a, b| a.package.cmp(&b.package));
    found.dedup_by(|a, b| a.package == b.package);
    Ok(found)
}

fn cargo_lock(text: &str) -> Result<Vec<Locked>, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        package: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        name: String,
        version: String,
        source: Option<String>,
    }
    let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
    Ok(file
        .package
        .into_iter()
        // No source: a member of the workspace (or a path dependency), not a dependency.
        .filter_map(|entry| {
            let source = entry.source?;
            let mut locked = Locked::new(Package::new(Ecosystem::Cargo, entry.name, entry.version));
            if !source.starts_with("registry+") && !source.starts_with("sparse+") {
                locked.unsupported = Some(format!("not from a registry ({})", source.split('#').next().unwrap_or("")));
            }
            Some(locked)
        })
        .collect())
}

fn package_lock(text: &str) -> Result<Vec<Locked>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    // v2 and v3: `packages` keyed by install path ("" is the project itself).
    if let Some(packages) = value.get("packages").and_then(|p| p.as_object()) {
        for (path, entry) in packages {
            let Some(at) = path.rfind("node_modules/") else { continue };
            if entry.get("link").and_then(|l| l.as_bool()) == Some(true) {
                continue; // a workspace member linked into node_modules
            }
            let name = entry.get("name").and_then(|n| n.as_str()).unwrap_or(&path[at + "node_modules/".len()..]);
            let Some(version) = entry.get("version").and_then(|v| v.as_str()) else { continue };
            let mut locked = Locked::new(Package::new(Ecosystem::Npm, name, version));
            locked.install_path = Some(path.clone());
            found.push(locked);
        }
        return Ok(found);
    }
    // v1: nested `dependencies`.
    fn walk(deps: &serde_json::Map<String, serde_json::Value>, prefix: &str, found: &mut Vec<Locked>) {
        for (name, entry) in deps {
            let path = format!("{prefix}node_modules/{name}");
            if let Some(version) = entry.get("version").and_then(|v| v.as_str()) {
                let mut locked = Locked::new(Package::new(Ecosystem::Npm, name, version));
                if version.starts_with("file:") || version.contains("://") {
                    locked.unsupported = Some(format!("not from the registry ({version})"));
                }
                locked.install_path = Some(path.clone());
                found.push(locked);
            }
            if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object()) {
                walk(nested, &format!("{path}/"), found);
            }
        }
    }
    if let Some(deps) = value.get("dependencies").and_then(|d| d.as_object()) {
        walk(deps, "", &mut found);
    }
    Ok(found)
}

/// `name@version` (scoped names start with `@`), with pnpm's peer suffix `(…)` removed.
fn split_name_version(spec: &str) -> Option<(&str, &str)> {
    let spec = spec.trim_start_matches('/');
    let spec = spec.split('(').next()?;
    let at = spec[1..].find('@')? + 1;
    let (name, version) = (&spec[..at], &spec[at + 1..]);
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

fn pnpm_lock(text: &str) -> Result<Vec<Locked>, String> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    let Some(packages) = value.get("packages").and_then(|p| p.as_mapping()) else { return Ok(found) };
    for (key, entry) in packages {
        let Some(key) = key.as_str() else { continue };
        // v5 keys are `/name/version`; v6 `/name@version`; v9 `name@version`.
        let parsed = split_name_version(key).or_else(|| {
            let key = key.trim_start_matches('/');
            let (name, version) = key.rsplit_once('/')?;
            Some((name, version))
        });
        let Some((name, version)) = parsed else { continue };
        let version = entry.get("version").and_then(|v| v.as_str()).unwrap_or(version);
        let mut locked = Locked::new(Package::new(Ecosystem::Npm, name, version));
        // pnpm's store layout: node_modules/.pnpm/<name with + for />@<version>/node_modules/<name>.
        locked.install_path =
            Some(format!("node_modules/.pnpm/{}@{}/node_modules/{name}", name.replace('/', "+"), version));
        if version.contains(':') {
            locked.unsupported = Some(format!("not from the registry ({version})"));
        }
        found.push(locked);
    }
    Ok(found)
}

fn yarn_lock(text: &str) -> Result<Vec<Locked>, String> {
    let mut found = Vec::new();
    if text.contains("__metadata:") {
        // Yarn berry: YAML keyed by `"name@npm:range, name@npm:range2"`.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        for (key, entry) in value.as_mapping().into_iter().flatten() {
            let (Some(key), Some(version)) = (key.as_str(), entry.get("version").and_then(|v| v.as_str())) else {
                continue;
            };
            let first = key.split(',').next().unwrap_or("").trim().trim_matches('"');
            let Some((name, range)) = split_name_version(first) else { continue };
            if range.starts_with("workspace:") {
                continue;
            }
            let mut locked = Locked::new(Package::new(Ecosystem::Npm, name, version));
            if !range.starts_with("npm:") {
                locked.unsupported = Some(format!("not from the registry ({range})"));
            }
            found.push(locked);
        }
        return Ok(found);
    }
    // Yarn v1: `name@range, name@range2:` then an indented `version "x"`.
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let first = line.trim_end_matches(':').split(',').next().unwrap_or("").trim().trim_matches('"');
            current = split_name_version(first).map(|(name, _)| name.to_string());
        } else if let (Some(name), Some(version)) = (&current, line.trim().strip_prefix("version ")) {
            found.push(Locked::new(Package::new(Ecosystem::Npm, name.clone(), version.trim_matches('"'))));
            current = None;
        }
    }
    Ok(found)
}

fn python_toml_lock(text: &str) -> Result<Vec<Locked>, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        package: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        name: String,
        version: Option<String>,
        source: Option<toml::Value>,
    }
    let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
    Ok(file
        .package
        .into_iter()
        .filter_map(|entry| {
            // uv marks the project and its members with editable / virtual / directory sources.
            let local = entry.source.as_ref().and_then(|s| s.as_table()).is_some_and(|source| {
                ["editable", "virtual", "directory", "path"].iter().any(|k| source.contains_key(*k))
            });
            if local {
                return None;
            }
            let mut locked = Locked::new(Package::new(Ecosystem::Pypi, entry.name, entry.version?));
            if let Some(git) = entry.source.as_ref().and_then(|s| s.get("git")) {
                locked.unsupported = Some(format!("not from a registry (git {})", git.as_str().unwrap_or("")));
            }
            Some(locked)
        })
        .collect())
}

fn requirements(text: &str) -> Vec<Locked> {
    let mut found = Vec::new();
    for line in text.lines() {
        // Comments, options (`-r`, `--hash` continuation lines) and environment markers go.
        let line = line.split(" #").next().unwrap_or("").split(';').next().unwrap_or("").trim();
        let line = line.trim_end_matches('\\').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let Some((name, version)) = line.split_once("==") else { continue };
        // `name[extra]==1.0`: the extras do not change the distribution.
        let name = name.split('[').next().unwrap_or("").trim();
        let version = version.split_whitespace().next().unwrap_or("").trim_start_matches('=');
        if !name.is_empty() && !version.is_empty() && !version.contains('*') {
            found.push(Locked::new(Package::new(Ecosystem::Pypi, name, version)));
        }
    }
    found
}

fn go_sum(text: &str) -> Vec<Locked> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (module, version) = (fields.next()?, fields.next()?);
            // `…/go.mod` lines only prove the module file was read; its sources may be absent.
            (!version.ends_with("/go.mod")).then(|| Locked::new(Package::new(Ecosystem::Go, module, version)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(found: &[Locked]) -> Vec<String> {
        found.iter().map(|l| l.package.key()).collect()
    }

    #[test]
    fn cargo_lock_lists_registry_packages_and_says_why_git_ones_are_not() {
        let text = r#"
version = 4
[[package]]
name = "app"
version = "0.1.0"
[[package]]
name = "serde"
version = "1.0.219"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://example.com/forked#abc"
"#;
        let found = parse_lock("Cargo.lock", text).unwrap();
        assert_eq!(keys(&found), ["cargo/forked/0.2.0", "cargo/serde/1.0.219"]);
        assert!(found[0].unsupported.as_deref().unwrap().contains("git+https://example.com/forked"));
        assert!(found[1].unsupported.is_none());
    }

    #[test]
    fn npm_lock_files_of_every_shape() {
        let v3 = r#"{"lockfileVersion":3,"packages":{"":{"name":"app"},
            "node_modules/p-limit":{"version":"6.2.0"},
            "node_modules/@scope/pkg":{"version":"1.0.0"},
            "node_modules/a/node_modules/p-limit":{"version":"3.1.0"},
            "node_modules/member":{"resolved":"packages/member","link":true}}}"#;
        let found = parse_lock("package-lock.json", v3).unwrap();
        assert_eq!(keys(&found), ["npm/@scope/pkg/1.0.0", "npm/p-limit/3.1.0", "npm/p-limit/6.2.0"]);
        assert_eq!(found[1].install_path.as_deref(), Some("node_modules/a/node_modules/p-limit"));

        let v1 = r#"{"lockfileVersion":1,"dependencies":{"ms":{"version":"2.1.3","dependencies":{"x":{"version":"1.0.0"}}}}}"#;
        let found = parse_lock("package-lock.json", v1).unwrap();
        assert_eq!(keys(&found), ["npm/ms/2.1.3", "npm/x/1.0.0"]);
        assert_eq!(found[1].install_path.as_deref(), Some("node_modules/ms/node_modules/x"));

        let pnpm = "lockfileVersion: '9.0'\npackages:\n  '@types/node@22.1.0':\n    resolution: {integrity: x}\n  \
                    yocto-queue@1.1.1:\n    resolution: {integrity: y}\n  react-dom@18.3.1(react@18.3.1):\n    resolution: {}\n";
        let found = parse_lock("pnpm-lock.yaml", pnpm).unwrap();
        assert_eq!(keys(&found), ["npm/@types/node/22.1.0", "npm/react-dom/18.3.1", "npm/yocto-queue/1.1.1"]);
        assert_eq!(
            found[0].install_path.as_deref(),
            Some("node_modules/.pnpm/@types+node@22.1.0/node_modules/@types/node")
        );

        let yarn1 = "# yarn lockfile v1\n\n\"@babel/code@^7.0.0\", \"@babel/code@^7.1.0\":\n  version \"7.2.0\"\n  \
                     resolved \"x\"\n\nms@^2.1.1:\n  version \"2.1.3\"\n";
        assert_eq!(keys(&parse_lock("yarn.lock", yarn1).unwrap()), ["npm/@babel/code/7.2.0", "npm/ms/2.1.3"]);

        let berry = "__metadata:\n  version: 8\n\n\"ms@npm:^2.1.1\":\n  version: 2.1.3\n\n\
                     \"app@workspace:.\":\n  version: 0.0.0-use.local\n";
        assert_eq!(keys(&parse_lock("yarn.lock", berry).unwrap()), ["npm/ms/2.1.3"]);
    }

    #[test]
    fn python_pins_and_locks() {
        let requirements_txt = "# pinned\nIDNA==3.10\nattrs[tests]==25.3.0 ; python_version >= '3.8'\n\
                                requests>=2\n-r other.txt\nsix==1.17.0 \\\n    --hash=sha256:abc\n";
        assert_eq!(
            keys(&parse_lock("requirements-dev.txt", requirements_txt).unwrap()),
            ["pypi/attrs/25.3.0", "pypi/idna/3.10", "pypi/six/1.17.0"]
        );
        let uv = "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\
                  [[package]]\nname = \"Flask_Cors\"\nversion = \"5.0.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        assert_eq!(keys(&parse_lock("uv.lock", uv).unwrap()), ["pypi/flask-cors/5.0.0"]);
        let poetry = "[[package]]\nname = \"six\"\nversion = \"1.17.0\"\n";
        assert_eq!(keys(&parse_lock("poetry.lock", poetry).unwrap()), ["pypi/six/1.17.0"]);
    }

    #[test]
    fn go_sum_keeps_modules_whose_sources_were_needed() {
        let text = "github.com/pkg/errors v0.9.1 h1:x=\ngithub.com/pkg/errors v0.9.1/go.mod h1:y=\n\
                    golang.org/x/text v0.3.0/go.mod h1:z=\n";
        assert_eq!(keys(&parse_lock("go.sum", text).unwrap()), ["go/github.com/pkg/errors/v0.9.1"]);
    }

    #[test]
    fn keys_round_trip_with_slashes_in_names() {
        let package = Package::new(Ecosystem::Go, "github.com/pkg/errors", "v0.9.1");
        assert_eq!(Package::from_key(&package.key()), Some(package));
        assert!(parse_lock("Cargo.lock", "[[package]\n").is_err());
    }
}
