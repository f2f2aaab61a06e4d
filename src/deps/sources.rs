//! Where a locked package version's sources already are on this machine, and which of its
//! files carry its API. Nothing is downloaded: a package that is not on disk is reported with
//! the places that were looked at.

use std::path::{Path, PathBuf};

use super::lock::{Ecosystem, Locked, normalize_pypi};
use crate::watch::{SecretFilter, Skipped, WalkConfig, WorkspaceFile, scan};

/// The machine's package caches, found once per run.
#[derive(Debug, Clone, Default)]
pub struct SourceDirs {
    /// `$CARGO_HOME/registry/src/<registry>/` (one per registry).
    pub cargo_registries: Vec<PathBuf>,
    /// `site-packages` of the workspace's virtualenvs and of `$VIRTUAL_ENV`.
    pub site_packages: Vec<PathBuf>,
    /// `$GOMODCACHE`, else `$GOPATH/pkg/mod`, else `~/go/pkg/mod`.
    pub go_mod_cache: Option<PathBuf>,
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
}

impl SourceDirs {
    pub fn discover(workspace: &Path) -> SourceDirs {
        let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| home().map(|h| h.join(".cargo")));
        let mut cargo_registries: Vec<PathBuf> = cargo_home
            .and_then(|home| std::fs::read_dir(home.join("registry").join("src")).ok())
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_dir())
            .collect();
        cargo_registries.sort();
        let mut envs: Vec<PathBuf> = [".venv", "venv", "env"].iter().map(|name| workspace.join(name)).collect();
        if let Some(active) = std::env::var_os("VIRTUAL_ENV") {
            envs.push(PathBuf::from(active));
        }
        let mut site_packages = Vec::new();
        for env in envs {
            for lib in ["lib", "lib64"] {
                for entry in std::fs::read_dir(env.join(lib)).into_iter().flatten().flatten() {
                    let candidate = entry.path().join("site-packages");
                    if entry.file_name().to_string_lossy().starts_with("python") && candidate.is_dir() {
                        site_packages.push(candidate);
                    }
                }
            }
        }
        site_packages.sort();
        site_packages.dedup();
        let go_mod_cache = std::env::var_os("GOMODCACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("GOPATH").map(|p| PathBuf::from(p).join("pkg").join("mod")))
            .or_else(|| home().map(|h| h.join("go").join("pkg").join("mod")));
        SourceDirs { cargo_registries, site_packages, go_mod_cache }
    }
}

/// A package version's sources on disk: the files to index, relative to `root`.
#[derive(Debug, Clone)]
pub struct Located {
    pub root: PathBuf,
    pub files: Vec<WorkspaceFile>,
    pub skipped: Vec<Skipped>,
    pub source_bytes: u64,
}

/// Finds `locked`'s sources (`lock_dir` is the directory of the lock file that named it), or
/// says why not.
pub fn locate(locked: &Locked, lock_dir: &Path, dirs: &SourceDirs, walk: &WalkConfig) -> Result<Located, String> {
    if let Some(reason) = &locked.unsupported {
        return Err(reason.clone());
    }
    let package = &locked.package;
    match package.ecosystem {
        Ecosystem::Cargo => {
            let dir_name = format!("{}-{}", package.name, package.version);
            let root = dirs
                .cargo_registries
                .iter()
                .map(|registry| registry.join(&dir_name))
                .find(|root| root.join("Cargo.toml").is_file())
                .ok_or_else(|| {
                    format!(
                        "sources not in the cargo registry cache ({}); `cargo fetch` downloads them",
                        dirs.cargo_registries.first().map(|p| p.display().to_string()).unwrap_or("none found".into())
                    )
                })?;
            let skip = ["tests", "benches", "examples", "target", "fuzz", "node_modules", "testdata"];
            let mut located = walk_package(&root, walk, &skip)?;
            // Build scripts and binaries are not the library's API.
            located.files.retain(|file| {
                file.relative.ends_with(".rs") && file.relative != "build.rs" && !file.relative.starts_with("src/bin/")
            });
            Ok(finish(located))
        }
        Ecosystem::Npm => {
            let install = locked.install_path.clone().unwrap_or_else(|| format!("node_modules/{}", package.name));
            let root = lock_dir.join(&install);
            let manifest = std::fs::read(root.join("package.json"))
                .map_err(|_| format!("not installed ({} is missing; `npm ci` installs it)", root.display()))?;
            let installed = serde_json::from_slice::<serde_json::Value>(&manifest)
                .ok()
                .and_then(|m| m.get("version").and_then(|v| v.as_str()).map(str::to_string));
            if installed.as_deref() != Some(package.version.as_str()) {
                return Err(format!(
                    "{} holds version {}, not the locked {}",
                    root.display(),
                    installed.as_deref().unwrap_or("unknown"),
                    package.version
                ));
            }
            let skip = ["node_modules", "test", "tests", "__tests__", "example", "examples", "coverage", "benchmark"];
            let mut located = walk_package(&root, walk, &skip)?;
            let is_code = |path: &str| {
                [".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx"].iter().any(|ext| path.ends_with(ext))
                    && !path.ends_with(".min.js")
            };
            located.files.retain(|file| is_code(&file.relative));
            // Declaration files are the package's typed API: when it ships them, they alone.
            let is_declaration = |path: &str| [".d.ts", ".d.mts", ".d.cts"].iter().any(|ext| path.ends_with(ext));
            if located.files.iter().any(|file| is_declaration(&file.relative)) {
                located.files.retain(|file| is_declaration(&file.relative));
            }
            Ok(finish(located))
        }
        Ecosystem::Pypi => {
            for site in &dirs.site_packages {
                if let Some(located) = python_distribution(site, &package.name, &package.version, walk) {
                    return Ok(finish(located));
                }
            }
            Err(if dirs.site_packages.is_empty() {
                "no virtualenv found (looked for .venv, venv, env in the workspace and $VIRTUAL_ENV)".into()
            } else {
                format!(
                    "not installed in {}",
                    dirs.site_packages.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                )
            })
        }
        Ecosystem::Go => {
            let cache = dirs.go_mod_cache.as_ref().ok_or("no Go module cache")?;
            let root = cache.join(format!("{}@{}", go_escape(&package.name), go_escape(&package.version)));
            if !root.is_dir() {
                return Err(format!(
                    "sources not in the Go module cache ({}); `go mod download` fetches them",
                    cache.display()
                ));
            }
            let skip = ["testdata", "vendor", "internal", "examples", "example"];
            let mut located = walk_package(&root, walk, &skip)?;
            located.files.retain(|file| file.relative.ends_with(".go") && !file.relative.ends_with("_test.go"));
            Ok(finish(located))
        }
    }
}

fn finish(mut located: Located) -> Located {
    located.source_bytes = located.files.iter().map(|f| f.size).sum();
    located
}

/// The package directory through the workspace's own walk (secret deny-list, size guard),
/// with the given directory names skipped. Hidden files stay skipped; ignore files of the
/// package itself are honoured.
fn walk_package(root: &Path, walk: &WalkConfig, skip: &[&str]) -> Result<Located, String> {
    let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    let config =
        WalkConfig { skipped_dirs: skip.iter().map(|s| s.to_string()).collect(), skip_hidden: true, ..walk.clone() };
    let scan = scan(&root, &config).map_err(|e| e.to_string())?;
    Ok(Located { root, files: scan.files, skipped: scan.skipped, source_bytes: 0 })
}

/// An installed distribution: its `.dist-info/RECORD` lists exactly its files.
fn python_distribution(site: &Path, name: &str, version: &str, walk: &WalkConfig) -> Option<Located> {
    let info = std::fs::read_dir(site).ok()?.flatten().find(|entry| {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        file_name
            .strip_suffix(".dist-info")
            .and_then(|stem| stem.split_once('-'))
            .is_some_and(|(n, v)| normalize_pypi(n) == name && v == version)
    })?;
    let record = std::fs::read_to_string(info.path().join("RECORD")).ok()?;
    let secrets = SecretFilter::new(&walk.extra_secret_patterns).ok()?;
    let mut located = Located { root: site.to_path_buf(), files: Vec::new(), skipped: Vec::new(), source_bytes: 0 };
    for line in record.lines() {
        let relative = line.split(',').next().unwrap_or("").trim_matches('"');
        let is_code = relative.ends_with(".py") || relative.ends_with(".pyi");
        let is_test = relative.split('/').any(|part| matches!(part, "tests" | "test" | "testing" | "__pycache__"));
        if !is_code || is_test || relative.starts_with("..") || relative.starts_with('/') {
            continue;
        }
        let path = Path::new(relative);
        if secrets.is_secret(path) {
            located.skipped.push(Skipped { relative: relative.into(), reason: "matches the secret deny-list".into() });
            continue;
        }
        let absolute = site.join(path);
        let Ok(metadata) = std::fs::symlink_metadata(&absolute) else { continue };
        if !metadata.is_file() {
            continue;
        }
        if metadata.len() > walk.max_file_bytes {
            located.skipped.push(Skipped {
                relative: relative.into(),
                reason: format!("{} bytes, above the {}-byte limit", metadata.len(), walk.max_file_bytes),
            });
            continue;
        }
        located.files.push(WorkspaceFile { absolute, relative: relative.into(), size: metadata.len() });
    }
    located.files.sort();
    Some(located)
}

/// The module cache's case encoding: `A` → `!a`, so paths stay unique on case-insensitive disks.
fn go_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_module_paths_are_case_escaped() {
        assert_eq!(go_escape("github.com/BurntSushi/toml"), "github.com/!burnt!sushi/toml");
    }
}
