//! Which files of a workspace are indexed: walking with ignore rules and the secret deny-list.
//!
//! This module owns the walk (the `ignore` crate: `.gitignore`, `.ignore`, `.git/info/exclude`,
//! the global gitignore, and `.zenithignore`, which may also re-include with `!`), the secret
//! deny-list and the size guard applied before a file is read. It must not know symbols, Lance
//! or the protocol. Architecture Invariant: a path refused here is never opened by Zenith.

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

/// File names (globs, matched case-insensitively against the file name) that are never read:
/// secrets and keys, whatever their extension.
pub const DEFAULT_SECRET_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.ppk",
    "credentials*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".htpasswd",
    ".git-credentials",
    "*.tfstate",
    "*.tfstate.*",
    "*.secret",
    "*.secrets",
];

/// File names that hold secrets when they are data, not code: `client_secret.json`,
/// `secrets.yaml`, `SECRET` are never read, but a source module such as Python's own
/// `secrets.py` is (its values pass through the content redaction in `redact` instead).
pub const DEFAULT_SECRET_DATA_PATTERNS: &[&str] = &["*secret*"];

/// Directory names (case-insensitive) whose whole tree is never read.
pub const DEFAULT_SECRET_DIRS: &[&str] =
    &["secret", "secrets", "*[-_.]secret", "*[-_.]secrets", ".ssh", ".gnupg", ".aws", ".password-store"];

/// Directories skipped even when not ignored: vendored or generated trees.
pub const DEFAULT_SKIPPED_DIRS: &[&str] =
    &["node_modules", "vendor", "target", "dist", "build", "__pycache__", "third_party", "bower_components"];

/// How the workspace is walked.
#[derive(Debug, Clone)]
pub struct WalkConfig {
    /// Extra secret globs on top of [`DEFAULT_SECRET_PATTERNS`].
    pub extra_secret_patterns: Vec<String>,
    /// Skip hidden files and directories (default true).
    pub skip_hidden: bool,
    /// Directory names skipped anywhere in the tree.
    pub skipped_dirs: Vec<String>,
    /// Files larger than this are not read (default 1 MiB; `parse` enforces it again on bytes).
    pub max_file_bytes: u64,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            extra_secret_patterns: Vec::new(),
            skip_hidden: true,
            skipped_dirs: DEFAULT_SKIPPED_DIRS.iter().map(|s| s.to_string()).collect(),
            max_file_bytes: 1 << 20,
        }
    }
}

/// Errors of the walk set-up (a bad pattern in the configuration).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A secret pattern is not a valid glob.
    #[error("invalid secret pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
}

/// The deny-list of secret paths: file names, data-file names and directory names, each
/// matched case-insensitively against its own path component.
#[derive(Debug, Clone)]
pub struct SecretFilter {
    files: GlobSet,
    data_files: GlobSet,
    dirs: GlobSet,
}

fn glob_set<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<GlobSet, WatchError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(true)
            .build()
            .map_err(|source| WatchError::Pattern { pattern: pattern.to_string(), source })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| WatchError::Pattern { pattern: "<set>".into(), source })
}

impl SecretFilter {
    /// The built-in deny-list plus `extra` file-name globs (configuration can add, never remove).
    pub fn new(extra: &[String]) -> Result<SecretFilter, WatchError> {
        Ok(SecretFilter {
            files: glob_set(DEFAULT_SECRET_PATTERNS.iter().copied().chain(extra.iter().map(String::as_str)))?,
            data_files: glob_set(DEFAULT_SECRET_DATA_PATTERNS.iter().copied())?,
            dirs: glob_set(DEFAULT_SECRET_DIRS.iter().copied())?,
        })
    }

    /// True when a directory of this name must never be entered.
    pub fn is_secret_dir(&self, name: &std::ffi::OsStr) -> bool {
        self.dirs.is_match(Path::new(name))
    }

    /// True when the file must never be read: its name is on the deny-list, or one of the
    /// directories on its path (relative to the workspace root) is.
    pub fn is_secret(&self, relative: &Path) -> bool {
        let Some(name) = relative.file_name() else {
            return false;
        };
        if self.files.is_match(Path::new(name)) {
            return true;
        }
        if self.data_files.is_match(Path::new(name)) && crate::parse::Language::detect(relative, b"").is_none() {
            return true;
        }
        relative.parent().is_some_and(|parent| parent.components().any(|c| self.is_secret_dir(c.as_os_str())))
    }
}

/// A file the walk accepted: its absolute path and its workspace-relative `/`-separated path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkspaceFile {
    pub absolute: PathBuf,
    pub relative: String,
    pub size: u64,
}

/// A file the walk refused, and why (logged by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub relative: String,
    pub reason: String,
}

/// The result of one walk.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<WorkspaceFile>,
    pub skipped: Vec<Skipped>,
}

/// Walks `root`, applying ignore rules, skipped directories, the secret deny-list and the
/// size guard. Symlinks are not followed, so the walk can neither leave the workspace nor loop.
pub fn scan(root: &Path, config: &WalkConfig) -> Result<Scan, WatchError> {
    walk(root, config, None)
}

/// Like [`scan`], but only for `targets` (files or directories, absolute): the walk still starts
/// at `root` so every ignore rule of every ancestor applies exactly as in a full scan, but it
/// only descends along the paths leading to a target and inside targets.
pub fn scan_paths(root: &Path, targets: &[PathBuf], config: &WalkConfig) -> Result<Scan, WatchError> {
    walk(root, config, Some(targets.to_vec()))
}

fn walk(root: &Path, config: &WalkConfig, targets: Option<Vec<PathBuf>>) -> Result<Scan, WatchError> {
    let secrets = SecretFilter::new(&config.extra_secret_patterns)?;
    let dir_filter = secrets.clone();
    let skipped_dirs = config.skipped_dirs.clone();
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(config.skip_hidden)
        .follow_links(false)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        // Honour .gitignore files even outside a git repository.
        .require_git(false)
        .add_custom_ignore_filename(".zenithignore")
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir
                && entry.depth() > 0
                && (skipped_dirs.iter().any(|d| entry.file_name() == d.as_str())
                    || dir_filter.is_secret_dir(entry.file_name()))
            {
                return false;
            }
            match &targets {
                None => true,
                Some(targets) => {
                    let path = entry.path();
                    targets.iter().any(|target| target.starts_with(path) || path.starts_with(target))
                }
            }
        });
    let mut result = Scan::default();
    for entry in builder.build() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                result.skipped.push(Skipped { relative: String::new(), reason: error.to_string() });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let absolute = entry.path().to_path_buf();
        let relative = relative_path(root, &absolute);
        if secrets.is_secret(Path::new(&relative)) {
            result.skipped.push(Skipped { relative, reason: "matches the secret deny-list".into() });
            continue;
        }
        let size = match entry.metadata() {
            Ok(metadata) => metadata.len(),
            Err(error) => {
                result.skipped.push(Skipped { relative, reason: error.to_string() });
                continue;
            }
        };
        if size > config.max_file_bytes {
            result.skipped.push(Skipped {
                relative,
                reason: format!("{size} bytes, above the {}-byte limit", config.max_file_bytes),
            });
            continue;
        }
        result.files.push(WorkspaceFile { absolute, relative, size });
    }
    result.files.sort();
    Ok(result)
}

/// `root/a/b.rs` → `a/b.rs`, with `/` separators on every platform.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// What the file watcher reports, after debouncing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These paths (files or directories, absolute) were created, modified, renamed or removed.
    Paths(Vec<PathBuf>),
    /// Events were lost (queue overflow, watch limit): everything must be re-checked.
    Rescan,
}

/// Keeps the OS watches alive; dropping it stops watching.
pub struct Watcher {
    _inner: Box<dyn std::any::Any + Send>,
}

/// Watches `roots` recursively (directories, not files: editors save by rename) and reports
/// debounced changes to `sink`. When the OS runs out of inotify watches, falls back to polling
/// with a warning.
pub fn watch(
    roots: &[PathBuf],
    debounce: std::time::Duration,
    sink: impl Fn(Change) + Send + Sync + 'static,
) -> Result<Watcher, notify_debouncer_full::notify::Error> {
    use notify_debouncer_full::notify::{ErrorKind, PollWatcher, RecursiveMode};
    use notify_debouncer_full::{DebounceEventResult, NoCache, new_debouncer, new_debouncer_opt};

    let sink = std::sync::Arc::new(sink);
    let handler = {
        let sink = sink.clone();
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                if events.iter().any(|event| event.need_rescan()) {
                    sink(Change::Rescan);
                    return;
                }
                let mut paths: Vec<PathBuf> = events
                    .iter()
                    .flat_map(|event| event.paths.iter().cloned())
                    // Git's own bookkeeping is never indexed; ignore its churn.
                    .filter(|path| !path.components().any(|c| c.as_os_str() == ".git"))
                    .collect();
                paths.sort();
                paths.dedup();
                if !paths.is_empty() {
                    sink(Change::Paths(paths));
                }
            }
            Err(errors) => {
                for error in &errors {
                    tracing::warn!(%error, "file watcher error; rescanning");
                }
                sink(Change::Rescan);
            }
        }
    };
    let mut debouncer = new_debouncer(debounce, None, handler.clone())?;
    let mut failed = None;
    for root in roots {
        if let Err(error) = debouncer.watch(root, RecursiveMode::Recursive) {
            failed = Some(error);
            break;
        }
    }
    match failed {
        None => Ok(Watcher { _inner: Box::new(debouncer) }),
        Some(error) if matches!(error.kind, ErrorKind::MaxFilesWatch) => {
            tracing::warn!(
                "out of inotify watches (raise fs.inotify.max_user_watches); falling back to polling every 2 s"
            );
            let config =
                notify_debouncer_full::notify::Config::default().with_poll_interval(std::time::Duration::from_secs(2));
            let mut poller = new_debouncer_opt::<_, PollWatcher, NoCache>(debounce, None, handler, NoCache, config)?;
            for root in roots {
                poller.watch(root, RecursiveMode::Recursive)?;
            }
            sink(Change::Rescan);
            Ok(Watcher { _inner: Box::new(poller) })
        }
        Some(error) => Err(error),
    }
}
