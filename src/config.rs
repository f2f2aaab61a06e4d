//! Configuration: defaults that need no file, then the user's file
//! (`$XDG_CONFIG_HOME/zenith/config.toml`), then the workspace's `.zenith.toml`, then
//! environment variables, then the editor's settings (LSP `initializationOptions` and
//! `workspace/didChangeConfiguration`), then command-line flags — each layer overriding the one
//! before. Every front-end (`znt serve`, `znt daemon`, `znt index`, the query commands) resolves
//! the same layers for the same workspace folder. Documented in docs/configuration.md.
//!
//! Architecture Invariant: a workspace's own `.zenith.toml` comes with the code (a clone of
//! someone else's repository), so it may tune indexing but never choose where data goes or
//! weaken privacy: [`check_workspace_layer`] refuses such keys with an error naming the file
//! and the key, and the secret deny-list can only be extended, never shortened.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::daemon::IndexOptions;
use crate::embed::EmbedConfig;

/// One configuration file; every field optional so layers can be merged.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub index: IndexSection,
    #[serde(default)]
    pub embed: EmbedSection,
    #[serde(default)]
    pub lsp: LspSection,
    #[serde(default)]
    pub team: TeamSection,
    #[serde(default)]
    pub deps: DepsSection,
}

/// `[deps]`: the dependency indexes (docs/dependencies.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DepsSection {
    /// Index the dependencies named in the workspace's lock files at all (default true).
    pub enabled: Option<bool>,
    /// The daemon indexes them by itself once the workspace is indexed (default true).
    pub auto: Option<bool>,
    /// With a team remote: pull package tables from it and push complete ones (default true).
    /// Only package versions the lock files name are sent: the sources are the registry's.
    pub share: Option<bool>,
    /// Package names never indexed (exact names or globs); every layer adds to the list.
    pub exclude: Option<Vec<String>>,
}

/// The effective `[deps]` settings.
#[derive(Debug, Clone)]
pub struct DepsSettings {
    pub enabled: bool,
    pub auto: bool,
    pub share: bool,
    pub exclude: Vec<String>,
}

/// `[team]`: the shared index on the team's own bucket (docs/team.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TeamSection {
    /// `s3://bucket/prefix` (R2, S3, MinIO…). User configuration, environment or flag only.
    pub remote: Option<String>,
    /// The repository's name on the remote (default: from the `origin` URL).
    pub repo: Option<String>,
    /// When the daemon pushes by itself. User configuration only.
    pub push: Option<PushMode>,
    /// Seconds between pushes with `push = "interval"`.
    pub push_interval_secs: Option<u64>,
    /// Workspace-relative globs never pushed (on top of what the index never holds). Every
    /// layer adds to the list; none can remove what another set.
    pub exclude: Option<Vec<String>>,
}

/// When the daemon pushes to the team remote by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushMode {
    /// Only `znt team push` / `zenith/team/push`.
    #[default]
    Manual,
    /// After a git commit or checkout settles (HEAD moved and the index caught up).
    OnCommit,
    /// Every `push_interval_secs`.
    Interval,
}

/// The effective `[team]` settings.
#[derive(Debug, Clone, Default)]
pub struct TeamSettings {
    pub remote: Option<String>,
    pub repo: Option<String>,
    pub push: PushMode,
    pub push_interval: std::time::Duration,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    /// Index location (directory or s3:// URI).
    pub dir: Option<String>,
    /// Files larger than this are skipped.
    pub max_file_bytes: Option<u64>,
    /// Extra secret file-name globs, on top of the built-in deny-list.
    pub secret_patterns: Option<Vec<String>>,
    /// Directory names skipped anywhere (replaces the default list).
    pub skipped_dirs: Option<Vec<String>>,
    /// Skip hidden files and directories.
    pub skip_hidden: Option<bool>,
    /// Parse deadline per file, milliseconds.
    pub parse_deadline_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbedSection {
    /// Compute embeddings at all (semantic search needs them).
    pub enabled: Option<bool>,
    pub threads: Option<usize>,
    pub batch_size: Option<usize>,
    pub max_tokens: Option<usize>,
    /// `full` (f32, the default) or `int8`.
    pub precision: Option<crate::embed::Precision>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LspSection {
    pub symbol_limit: Option<usize>,
    pub batch_window_ms: Option<u64>,
    /// Which indexes `workspace/symbol` reads: `private` (the default) or `all` (the team
    /// remote's repositories too, their names held in memory).
    pub symbol_scope: Option<crate::query::federated::Scope>,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub index_dir: Option<String>,
    pub index: IndexOptions,
    pub embed_enabled: bool,
    pub embed: EmbedConfig,
    pub symbol_limit: usize,
    pub batch_window: std::time::Duration,
    pub symbol_scope: crate::query::federated::Scope,
    pub team: TeamSettings,
    pub deps: DepsSettings,
    /// Files that were read, in order (for `znt status`).
    pub sources: Vec<PathBuf>,
}

/// The user's configuration file.
pub fn user_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "zenith").map(|dirs| dirs.config_dir().join("config.toml"))
}

/// Reads one file; a missing file is an empty layer, a malformed one an error naming it.
pub fn read_file(path: &Path) -> anyhow::Result<Option<ConfigFile>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            Ok(Some(toml::from_str(&text).with_context(|| format!("invalid configuration in {}", path.display()))?))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn overlay(base: &mut ConfigFile, layer: ConfigFile) {
    macro_rules! take {
        ($section:ident . $field:ident) => {
            if layer.$section.$field.is_some() {
                base.$section.$field = layer.$section.$field;
            }
        };
    }
    take!(index.dir);
    take!(index.max_file_bytes);
    take!(index.secret_patterns);
    take!(index.skipped_dirs);
    take!(index.skip_hidden);
    take!(index.parse_deadline_ms);
    take!(embed.enabled);
    take!(embed.threads);
    take!(embed.batch_size);
    take!(embed.max_tokens);
    take!(embed.precision);
    take!(lsp.symbol_limit);
    take!(lsp.batch_window_ms);
    take!(lsp.symbol_scope);
    take!(team.remote);
    take!(team.repo);
    take!(team.push);
    take!(team.push_interval_secs);
    // Exclusions only accumulate: a later layer can add paths that never leave, not remove any.
    if let Some(exclude) = layer.team.exclude {
        base.team.exclude.get_or_insert_with(Vec::new).extend(exclude);
    }
    take!(deps.enabled);
    take!(deps.auto);
    take!(deps.share);
    if let Some(exclude) = layer.deps.exclude {
        base.deps.exclude.get_or_insert_with(Vec::new).extend(exclude);
    }
}

/// The name of a workspace's own configuration file.
pub const WORKSPACE_FILE: &str = ".zenith.toml";

/// Loads the layered settings for `workspace`. Environment: `ZENITH_INDEX_DIR`,
/// `ZENITH_EMBED` (`0` disables), `ZENITH_EMBED_THREADS`.
pub fn load(workspace: Option<&Path>) -> anyhow::Result<Settings> {
    load_with_editor(workspace, None)
}

/// [`load`] with the editor's layer (LSP settings) on top of the environment.
pub fn load_with_editor(workspace: Option<&Path>, editor: Option<&ConfigFile>) -> anyhow::Result<Settings> {
    let mut merged = ConfigFile::default();
    let mut sources = Vec::new();
    if let Some(path) = user_config_path()
        && let Some(layer) = read_file(&path)?
    {
        overlay(&mut merged, layer);
        sources.push(path);
    }
    if let Some(workspace) = workspace {
        let workspace = workspace.canonicalize().unwrap_or_else(|_| workspace.to_path_buf());
        let path = workspace.join(WORKSPACE_FILE);
        if let Some(mut layer) = read_file(&path)? {
            check_workspace_layer(&path, &workspace, &layer)?;
            // A relative location in the workspace's file is relative to the workspace.
            if let Some(dir) = layer.index.dir.as_mut()
                && Path::new(dir.as_str()).is_relative()
            {
                *dir = workspace.join(dir.as_str()).to_string_lossy().into_owned();
            }
            overlay(&mut merged, layer);
            sources.push(path);
        }
    }
    if let Ok(dir) = std::env::var("ZENITH_INDEX_DIR")
        && !dir.is_empty()
    {
        merged.index.dir = Some(dir);
    }
    if let Ok(remote) = std::env::var("ZENITH_TEAM_REMOTE")
        && !remote.is_empty()
    {
        merged.team.remote = Some(remote);
    }
    if let Ok(value) = std::env::var("ZENITH_EMBED") {
        merged.embed.enabled = Some(!matches!(value.as_str(), "0" | "false" | "off"));
    }
    if let Some(threads) = std::env::var("ZENITH_EMBED_THREADS").ok().and_then(|v| v.parse().ok()) {
        merged.embed.threads = Some(threads);
    }
    if let Some(editor) = editor {
        overlay(&mut merged, editor.clone());
    }
    Ok(settings_from(merged, sources))
}

/// Refuses what a workspace's own `.zenith.toml` may not set: an index location outside the
/// workspace (an `s3://` bucket would receive the symbol table with the user's own
/// credentials; a directory elsewhere could be shared with other users), a team remote and an
/// automatic push (both decide that data leaves the machine). Everything else in the file only
/// tunes indexing; the secret deny-list and `team.exclude` are additive by construction.
pub fn check_workspace_layer(path: &Path, workspace: &Path, layer: &ConfigFile) -> anyhow::Result<()> {
    let own_config = || user_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "config.toml".into());
    if let Some(remote) = &layer.team.remote {
        anyhow::bail!(
            "{}: `team.remote = {remote:?}` is refused: a workspace's own configuration may not choose where your \
             symbols are uploaded. Set it in your own configuration ({}), with ZENITH_TEAM_REMOTE or with --team-remote",
            path.display(),
            own_config()
        );
    }
    if layer.team.push.is_some_and(|mode| mode != PushMode::Manual) {
        anyhow::bail!(
            "{}: `team.push` is refused: only your own configuration ({}) may make the daemon push by itself",
            path.display(),
            own_config()
        );
    }
    if layer.deps.share == Some(true) {
        anyhow::bail!(
            "{}: `deps.share = true` is refused: only your own configuration ({}) may decide that package indexes \
             are sent to the team remote (a workspace may only turn it off)",
            path.display(),
            own_config()
        );
    }
    if let Some(dir) = &layer.index.dir {
        let inside = !dir.contains("://") && {
            let candidate = Path::new(dir);
            let resolved = if candidate.is_absolute() { candidate.to_path_buf() } else { workspace.join(candidate) };
            // Lexical check (the directory may not exist yet): no `..` may climb out.
            !resolved.components().any(|c| matches!(c, std::path::Component::ParentDir))
                && resolved.starts_with(workspace)
        };
        if !inside {
            anyhow::bail!(
                "{}: `index.dir = {dir:?}` is refused: a workspace's own configuration may not send its index \
                 outside the workspace (a clone could otherwise upload your symbols with your credentials). \
                 Set it in your own configuration ({}), with ZENITH_INDEX_DIR or with --index-dir",
                path.display(),
                user_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "config.toml".into())
            );
        }
    }
    Ok(())
}

/// The workspace that `start` (a directory, usually the current one) belongs to, found the way
/// cargo and git find theirs: the nearest ancestor with a `.zenith.toml`, else the nearest
/// version-control root (`.git`, `.hg`, `.jj`, `.svn`), else `start` itself.
pub fn find_workspace_root(start: &Path) -> PathBuf {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    if let Some(root) = start.ancestors().find(|dir| dir.join(WORKSPACE_FILE).is_file()) {
        return root.to_path_buf();
    }
    if let Some(root) =
        start.ancestors().find(|dir| [".git", ".hg", ".jj", ".svn"].iter().any(|vcs| dir.join(vcs).exists()))
    {
        return root.to_path_buf();
    }
    start
}

/// Parses the editor's settings (`initializationOptions`, or the `zenith` section of
/// `workspace/didChangeConfiguration`): the same sections and keys as the files, in JSON.
/// `symbolLimit` (the older spelling) is accepted as `lsp.symbol_limit`.
pub fn editor_layer(value: &serde_json::Value) -> anyhow::Result<ConfigFile> {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        // VS Code sends `{ "zenith": { … } }` for a configuration section.
        if let Some(inner) = object.remove("zenith") {
            return editor_layer(&inner);
        }
        let limit = object.remove("symbolLimit");
        let mut layer: ConfigFile =
            serde_json::from_value(serde_json::Value::Object(object.clone())).context("invalid editor settings")?;
        if let Some(limit) = limit.and_then(|v| v.as_u64()) {
            layer.lsp.symbol_limit = Some(limit as usize);
        }
        return Ok(layer);
    }
    // Neovim encodes an empty Lua table as `[]`.
    if value.is_null() || value.as_array().is_some_and(|items| items.is_empty()) {
        return Ok(ConfigFile::default());
    }
    anyhow::bail!("invalid editor settings: expected an object, got {value}")
}

fn settings_from(file: ConfigFile, sources: Vec<PathBuf>) -> Settings {
    let mut index = IndexOptions::default();
    if let Some(bytes) = file.index.max_file_bytes {
        index.walk.max_file_bytes = bytes;
        index.parse.max_file_bytes = bytes as usize;
    }
    if let Some(patterns) = file.index.secret_patterns {
        index.walk.extra_secret_patterns = patterns;
    }
    if let Some(dirs) = file.index.skipped_dirs {
        index.walk.skipped_dirs = dirs;
    }
    if let Some(hidden) = file.index.skip_hidden {
        index.walk.skip_hidden = hidden;
    }
    if let Some(ms) = file.index.parse_deadline_ms {
        index.parse.deadline = std::time::Duration::from_millis(ms);
    }
    let defaults = EmbedConfig::default();
    let embed = EmbedConfig {
        threads: file.embed.threads.unwrap_or(defaults.threads),
        batch_size: file.embed.batch_size.unwrap_or(defaults.batch_size),
        max_tokens: file.embed.max_tokens.unwrap_or(defaults.max_tokens),
        precision: file.embed.precision.unwrap_or(defaults.precision),
    };
    Settings {
        index_dir: file.index.dir,
        index,
        embed_enabled: file.embed.enabled.unwrap_or(true),
        embed,
        symbol_limit: file.lsp.symbol_limit.unwrap_or(1000),
        batch_window: std::time::Duration::from_millis(file.lsp.batch_window_ms.unwrap_or(100)),
        symbol_scope: file.lsp.symbol_scope.unwrap_or_default(),
        team: TeamSettings {
            remote: file.team.remote,
            repo: file.team.repo,
            push: file.team.push.unwrap_or_default(),
            push_interval: std::time::Duration::from_secs(file.team.push_interval_secs.unwrap_or(600).max(10)),
            exclude: file.team.exclude.unwrap_or_default(),
        },
        deps: DepsSettings {
            enabled: file.deps.enabled.unwrap_or(true),
            auto: file.deps.auto.unwrap_or(true),
            share: file.deps.share.unwrap_or(true),
            exclude: file.deps.exclude.unwrap_or_default(),
        },
        sources,
    }
}

/// The default per-workspace index directory under the user's cache.
pub fn default_index_dir(workspace: &Path) -> anyhow::Result<PathBuf> {
    let canonical =
        workspace.canonicalize().with_context(|| format!("resolving the workspace {}", workspace.display()))?;
    let name = canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "root".into());
    let digest = crate::symbols::content_hash(canonical.to_string_lossy().as_bytes());
    Ok(crate::assets::cache_dir().join("indexes").join(format!("{name}-{}", &digest[..12])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_override_earlier_ones_field_by_field() {
        let mut base: ConfigFile = toml::from_str("[index]\nmax_file_bytes = 10\nskip_hidden = false\n").unwrap();
        let layer: ConfigFile = toml::from_str("[index]\nmax_file_bytes = 20\n[lsp]\nsymbol_limit = 5\n").unwrap();
        overlay(&mut base, layer);
        let settings = settings_from(base, Vec::new());
        assert_eq!(settings.index.walk.max_file_bytes, 20);
        assert!(!settings.index.walk.skip_hidden);
        assert_eq!(settings.symbol_limit, 5);
    }

    #[test]
    fn a_workspace_file_may_not_send_the_index_elsewhere() {
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        let path = root.join(WORKSPACE_FILE);
        for refused in ["s3://someone-else/loot", "/tmp/elsewhere", "../outside", "sub/../../outside"] {
            let layer: ConfigFile = toml::from_str(&format!("[index]\ndir = {refused:?}\n")).unwrap();
            let error = check_workspace_layer(&path, &root, &layer).unwrap_err().to_string();
            assert!(error.contains(".zenith.toml") && error.contains("index.dir"), "{error}");
        }
        for allowed in [".zenith-index", "build/index"] {
            let layer: ConfigFile = toml::from_str(&format!("[index]\ndir = {allowed:?}\n")).unwrap();
            check_workspace_layer(&path, &root, &layer).unwrap();
        }
        std::fs::write(&path, "[index]\ndir = \"s3://someone-else/loot\"\n").unwrap();
        assert!(load(Some(&root)).is_err());
        std::fs::write(&path, "[index]\ndir = \".zenith-index\"\n").unwrap();
        let settings = load(Some(&root)).unwrap();
        assert_eq!(settings.index_dir.as_deref(), Some(root.join(".zenith-index").to_str().unwrap()));
    }

    #[test]
    fn a_workspace_file_may_not_choose_the_team_remote_or_push_by_itself() {
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        let path = root.join(WORKSPACE_FILE);
        for refused in ["[team]\nremote = \"s3://someone-else/loot\"\n", "[team]\npush = \"on-commit\"\n"] {
            let layer: ConfigFile = toml::from_str(refused).unwrap();
            let error = check_workspace_layer(&path, &root, &layer).unwrap_err().to_string();
            assert!(error.contains(".zenith.toml") && error.contains("team."), "{error}");
        }
        let layer: ConfigFile =
            toml::from_str("[team]\nrepo = \"example.com/app\"\nexclude = [\"vendor/**\"]\n").unwrap();
        check_workspace_layer(&path, &root, &layer).unwrap();
        // Exclusions accumulate across layers.
        let mut base: ConfigFile = toml::from_str("[team]\nexclude = [\"secret/**\"]\n").unwrap();
        overlay(&mut base, layer);
        let settings = settings_from(base, Vec::new());
        assert_eq!(settings.team.exclude, vec!["secret/**".to_string(), "vendor/**".to_string()]);
        assert_eq!(settings.team.repo.as_deref(), Some("example.com/app"));
        assert_eq!(settings.team.push, PushMode::Manual);
    }

    #[test]
    fn the_workspace_is_the_nearest_config_file_then_the_vcs_root() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/crates/a/src")).unwrap();
        assert_eq!(find_workspace_root(&root.join("repo/crates/a/src")), root.join("repo"));
        std::fs::write(root.join("repo/crates/a/.zenith.toml"), "").unwrap();
        assert_eq!(find_workspace_root(&root.join("repo/crates/a/src")), root.join("repo/crates/a"));
        std::fs::create_dir_all(root.join("plain/dir")).unwrap();
        assert_eq!(find_workspace_root(&root.join("plain/dir")), root.join("plain/dir"));
    }

    #[test]
    fn editor_settings_use_the_file_sections() {
        let layer = editor_layer(&serde_json::json!({"symbolLimit": 7, "index": {"max_file_bytes": 10}})).unwrap();
        assert_eq!(layer.lsp.symbol_limit, Some(7));
        assert_eq!(layer.index.max_file_bytes, Some(10));
        let nested = editor_layer(&serde_json::json!({"zenith": {"embed": {"enabled": false}}})).unwrap();
        assert_eq!(nested.embed.enabled, Some(false));
        assert!(editor_layer(&serde_json::json!({"index": {"nope": 1}})).is_err());
        // Neovim's encoding of an empty table.
        assert!(editor_layer(&serde_json::json!([])).is_ok());
        assert!(editor_layer(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".zenith.toml");
        std::fs::write(&path, "[index]\nmax_file_byte = 1\n").unwrap();
        let error = read_file(&path).unwrap_err();
        assert!(format!("{error:#}").contains(".zenith.toml"), "{error:#}");
    }
}
