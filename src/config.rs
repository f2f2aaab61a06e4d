//! Configuration: defaults that need no file, then the user's file
//! (`$XDG_CONFIG_HOME/zenith/config.toml`), then the workspace's `.zenith.toml`, then
//! environment variables, then command-line flags — each layer overriding the one before.
//! Documented in docs/configuration.md.

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
}

/// Loads the layered settings for `workspace`. Environment: `ZENITH_INDEX_DIR`,
/// `ZENITH_EMBED` (`0` disables), `ZENITH_EMBED_THREADS`.
pub fn load(workspace: Option<&Path>) -> anyhow::Result<Settings> {
    let mut merged = ConfigFile::default();
    let mut sources = Vec::new();
    let mut files: Vec<PathBuf> = user_config_path().into_iter().collect();
    if let Some(workspace) = workspace {
        files.push(workspace.join(".zenith.toml"));
    }
    for path in files {
        if let Some(layer) = read_file(&path)? {
            overlay(&mut merged, layer);
            sources.push(path);
        }
    }
    if let Ok(dir) = std::env::var("ZENITH_INDEX_DIR")
        && !dir.is_empty()
    {
        merged.index.dir = Some(dir);
    }
    if let Ok(value) = std::env::var("ZENITH_EMBED") {
        merged.embed.enabled = Some(!matches!(value.as_str(), "0" | "false" | "off"));
    }
    if let Some(threads) = std::env::var("ZENITH_EMBED_THREADS").ok().and_then(|v| v.parse().ok()) {
        merged.embed.threads = Some(threads);
    }
    Ok(settings_from(merged, sources))
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
        sources,
    }
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
    fn unknown_keys_are_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".zenith.toml");
        std::fs::write(&path, "[index]\nmax_file_byte = 1\n").unwrap();
        let error = read_file(&path).unwrap_err();
        assert!(format!("{error:#}").contains(".zenith.toml"), "{error:#}");
    }
}
