//! The team tier: a shared index on the team's own S3-compatible bucket (docs/team.md).
//!
//! Layout under the remote URI (`s3://bucket/prefix`):
//!
//! ```text
//!  views.lance                  one row per (repository, ref, file): the file version each pushed ref holds
//!  repos/<slug>/symbols.lance   a repository's symbol rows (the private table's schema), keyed by
//!                               (path, file content hash): every version ever pushed, each stored once
//! ```
//!
//! A push sends the rows of the file versions the remote lacks (or holds with fewer vectors) in
//! one commit of the repository's table, then rewrites its ref's view in one commit of
//! `views.lance`: a reader that follows a view only meets versions already committed. A pull
//! copies the rows (vectors included) of every local file whose exact version the remote holds,
//! so a fresh clone parses and embeds only the rest; the table's vectors double as the team's
//! embedding cache (by text hash). Team search reads one ref per repository (its default branch),
//! so old versions of a file are never hits.
//!
//! Only `store` knows Lance; this module decides what to send, what to copy and which view to
//! read, and asks git what a push represents.
//!
//! Architecture Invariant: a push sends only rows the private index holds (never a denied or
//! ignored file), never a path matched by `team.exclude`, and never a file whose working-tree
//! content differs from the commit the push records.

mod git;
mod pull;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;

pub use git::normalize_origin;
pub use pull::{PullReport, SeedReport, fill_embeddings, pull, seed};

use crate::config::TeamSettings;
use crate::daemon::IndexOptions;
use crate::query::federated::ViewSource;
use crate::store::{Store, StoreConfig, StoreError, ViewRow, ViewTable};

/// How long opening the remote may take before it counts as unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(8);
/// Old versions of a remote table are kept this long (a teammate's pull may be reading one).
const KEEP_REMOTE_VERSIONS: Duration = Duration::from_secs(3600);

/// A team remote: where it is and how to reach it. Credentials come from the environment or
/// the AWS credential chain, and are never logged.
#[derive(Debug, Clone)]
pub struct Remote {
    uri: String,
    storage_options: Vec<(String, String)>,
}

impl Remote {
    pub fn new(uri: &str) -> anyhow::Result<Remote> {
        let uri = uri.trim().trim_end_matches('/').to_string();
        anyhow::ensure!(!uri.is_empty(), "the team remote is empty (expected s3://bucket/prefix)");
        let mut storage_options = StoreConfig::new(uri.clone()).storage_options;
        if uri.contains("://") {
            // A remote that is down must fail in seconds, not after object_store's default
            // three minutes of retries: the editor keeps answering from the private index.
            for (key, value) in [
                ("connect_timeout", "3s"),
                ("timeout", "60s"),
                ("client_max_retries", "2"),
                ("client_retry_timeout", "5"),
            ] {
                if !storage_options.iter().any(|(existing, _)| existing == key) {
                    storage_options.push((key.to_string(), value.to_string()));
                }
            }
        }
        Ok(Remote { uri, storage_options })
    }

    /// The remote from the settings (`--team-remote`, `ZENITH_TEAM_REMOTE`, user configuration).
    pub fn from_settings(team: &TeamSettings) -> anyhow::Result<Option<Remote>> {
        team.remote.as_deref().map(Remote::new).transpose()
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn storage_options(&self) -> &[(String, String)] {
        &self.storage_options
    }

    /// Where a repository's table lives.
    pub fn repo_uri(&self, repo: &str) -> String {
        format!("{}/repos/{}", self.uri, repo_slug(repo))
    }

    /// The views table; `None` when nobody pushed yet and `create` is false.
    pub async fn views(&self, create: bool) -> anyhow::Result<Option<ViewTable>> {
        let open = ViewTable::open(&self.uri, &self.storage_options, create);
        match reach(&self.uri, open).await? {
            Ok(table) => Ok(Some(table)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(remote_error(&self.uri, &anyhow::Error::new(error))),
        }
    }

    /// A repository's table; `None` when nothing of it was pushed yet and `create` is false.
    pub async fn repo_table(&self, repo: &str, create: bool) -> anyhow::Result<Option<Store>> {
        let config = StoreConfig {
            uri: self.repo_uri(repo),
            storage_options: self.storage_options.clone(),
            model: Default::default(),
            create_if_missing: create,
            content_addressed: true,
        };
        match reach(&self.uri, Store::open(&config)).await? {
            Ok(table) => Ok(Some(table)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(remote_error(&self.uri, &anyhow::Error::new(error))),
        }
    }

    /// What team search reads: for each repository on the remote, its default branch's view
    /// (the newest push's idea of the default branch; the newest pushed ref if that branch was
    /// never pushed).
    pub async fn sources(&self) -> anyhow::Result<Vec<ViewSource>> {
        let Some(views) = self.views(false).await? else {
            return Ok(Vec::new());
        };
        let views_version = views.version().await.map_err(|error| remote_error(&self.uri, &error.into()))?;
        let rows = views.rows(None).await.map_err(|error| remote_error(&self.uri, &error.into()))?;
        let mut latest: HashMap<&str, &ViewRow> = HashMap::new();
        let mut refs: HashSet<(&str, &str)> = HashSet::new();
        for row in &rows {
            refs.insert((row.repo.as_str(), row.git_ref.as_str()));
            let newest = latest.entry(row.repo.as_str()).or_insert(row);
            if row.pushed_at > newest.pushed_at {
                *newest = row;
            }
        }
        let mut sources: Vec<ViewSource> = latest
            .into_values()
            .map(|newest| {
                let git_ref = if refs.contains(&(newest.repo.as_str(), newest.default_ref.as_str())) {
                    newest.default_ref.clone()
                } else {
                    newest.git_ref.clone()
                };
                let files: HashMap<String, String> = rows
                    .iter()
                    .filter(|row| row.repo == newest.repo && row.git_ref == git_ref && !row.is_header())
                    .map(|row| (row.path.clone(), row.file_hash.clone()))
                    .collect();
                ViewSource {
                    repo: newest.repo.clone(),
                    git_ref,
                    dataset: crate::store::dataset_uri_for(&self.repo_uri(&newest.repo)),
                    views: views.dataset_uri(),
                    views_version,
                    files: std::sync::Arc::new(files),
                    exact: false,
                }
            })
            .collect();
        sources.sort_by(|a, b| a.repo.cmp(&b.repo));
        Ok(sources)
    }
}

/// Where the local mirrors of `remote`'s repositories live (one Lance table each, in the cache).
fn mirror_dir(remote: &Remote, repo: &str) -> std::path::PathBuf {
    let remote_key = &crate::symbols::content_hash(remote.uri().as_bytes())[..16];
    crate::assets::cache_dir().join("team").join(remote_key).join(repo_slug(repo))
}

/// What a mirror was last synced to: the view's own content, not just a version number (a
/// bucket emptied and pushed to again reuses version numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
struct MirrorMark {
    views_version: u64,
    git_ref: String,
    fingerprint: String,
}

/// A hash of a view's file versions, in path order.
fn view_fingerprint(files: &HashMap<String, String>) -> String {
    let mut entries: Vec<(&String, &String)> = files.iter().collect();
    entries.sort();
    let mut text = String::new();
    for (path, hash) in entries {
        text.push_str(path);
        text.push('\0');
        text.push_str(hash);
        text.push('\n');
    }
    crate::symbols::content_hash(text.as_bytes())
}

const MIRROR_MARK: &str = "mirror.json";

fn mirrored(source: &ViewSource, dir: &Path) -> ViewSource {
    ViewSource {
        dataset: crate::store::dataset_uri_for(&dir.to_string_lossy()),
        files: Default::default(),
        exact: true,
        ..source.clone()
    }
}

/// The local mirror of `source` when it holds exactly `source`'s view (synced at the same
/// views version): searching it costs what a private index costs, with no round trip.
pub fn synced_mirror(remote: &Remote, source: &ViewSource) -> Option<ViewSource> {
    let dir = mirror_dir(remote, &source.repo);
    let mark: MirrorMark = serde_json::from_slice(&std::fs::read(dir.join(MIRROR_MARK)).ok()?).ok()?;
    (mark.git_ref == source.git_ref && mark.fingerprint == view_fingerprint(&source.files))
        .then(|| mirrored(source, &dir))
}

/// Brings the local mirror of a team repository in line with its view: copies the rows of
/// the file versions it lacks (vectors included), drops the others, folds them into its
/// indexes. One writer at a time (the index lock); a mirror being synced elsewhere is left
/// alone. Returns the mirror as a source, or `None` when another process holds it.
pub async fn sync_mirror(remote: &Remote, source: &ViewSource) -> anyhow::Result<Option<ViewSource>> {
    if let Some(mirror) = synced_mirror(remote, source) {
        return Ok(Some(mirror));
    }
    let dir = mirror_dir(remote, &source.repo);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let uri = dir.to_string_lossy().into_owned();
    let Ok(_lock) = crate::daemon::IndexLock::acquire(&uri) else {
        return Ok(None);
    };
    let config = StoreConfig::new(uri.clone());
    // A first sync starts from a copy of the team's table when the view is most of it.
    if matches!(
        Store::open(&StoreConfig { create_if_missing: false, ..config.clone() }).await,
        Err(StoreError::NotFound { .. })
    ) && let Some(table) = remote.repo_table(&source.repo, false).await?
    {
        pull::clone_matching(&table, remote, &source.files, &config).await?;
    }
    let mirror = Store::open(&config).await?;
    let have = mirror.file_hashes().await?;
    let wanted: Vec<(String, String)> = source
        .files
        .iter()
        .filter(|(path, hash)| have.get(*path) != Some(*hash))
        .map(|(path, hash)| (path.clone(), hash.clone()))
        .collect();
    let gone: Vec<String> = have.keys().filter(|path| !source.files.contains_key(*path)).cloned().collect();
    if !wanted.is_empty() || !gone.is_empty() {
        let table = remote
            .repo_table(&source.repo, false)
            .await?
            .with_context(|| format!("{} has a view but no table on the remote", source.repo))?;
        let batches =
            table.batches_of_file_versions(&wanted).await.map_err(|error| remote_error(remote.uri(), &error.into()))?;
        let mut paths: Vec<String> = wanted.into_iter().map(|(path, _)| path).collect();
        paths.extend(gone);
        mirror.replace_files_with_batches(&paths, batches).await?;
        mirror.maintain(crate::store::KEEP_VERSIONS).await?;
    }
    let mark = MirrorMark {
        views_version: source.views_version,
        git_ref: source.git_ref.clone(),
        fingerprint: view_fingerprint(&source.files),
    };
    std::fs::write(dir.join(MIRROR_MARK), serde_json::to_vec(&mark)?)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(Some(mirrored(source, &dir)))
}

/// Runs a remote operation with the reachability deadline.
async fn reach<T>(uri: &str, operation: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(REACH_TIMEOUT, operation).await.map_err(|_| {
        anyhow::anyhow!(
            "the team remote {uri} is unreachable: no answer within {} s (check AWS_ENDPOINT_URL and the network)",
            REACH_TIMEOUT.as_secs()
        )
    })
}

/// One line that says what is wrong with the remote, instead of an object-store error chain
/// (which can run to a page and is logged at debug level instead).
pub fn remote_error(uri: &str, error: &anyhow::Error) -> anyhow::Error {
    let detail = format!("{error:#}");
    tracing::debug!(%detail, "team remote error");
    let lower = detail.to_ascii_lowercase();
    let reason = if lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("accessdenied")
        || lower.contains("403")
    {
        "the credentials were refused (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or your AWS profile)".to_string()
    } else if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
        "the bucket does not exist".to_string()
    } else if lower.contains("connection refused")
        || lower.contains("error sending request")
        || lower.contains("dns error")
        || lower.contains("timed out")
        || lower.contains("connect")
    {
        "unreachable (check AWS_ENDPOINT_URL and the network)".to_string()
    } else {
        let first: String = detail.lines().next().unwrap_or_default().chars().take(240).collect();
        first
    };
    anyhow::anyhow!("team remote {uri}: {reason}")
}

/// A file-system-safe, collision-free directory name for a repository.
pub fn repo_slug(repo: &str) -> String {
    let readable: String = repo
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .take(80)
        .collect();
    format!("{readable}-{}", &crate::symbols::content_hash(repo.as_bytes())[..8])
}

/// The repository's name on the remote: `team.repo`, else derived from `origin`.
pub fn repo_name(root: &Path, team: &TeamSettings) -> anyhow::Result<String> {
    if let Some(repo) = team.repo.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(repo.to_string());
    }
    git::origin_repo(root)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no `origin` remote to name the repository by on the team remote; set `[team] repo = \"…\"`",
            root.display()
        )
    })
}

/// What a push represents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub repo: String,
    pub git_ref: String,
    pub commit: String,
    pub default_ref: String,
}

pub fn identity(root: &Path, team: &TeamSettings) -> anyhow::Result<Identity> {
    let repo = repo_name(root, team)?;
    let head = git::head(root)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} is not a git repository with a commit: a push records the branch and commit it represents",
            root.display()
        )
    })?;
    let git_ref = head.branch.clone().ok_or_else(|| {
        anyhow::anyhow!("HEAD is detached at {}: check out a branch to push", &head.commit[..head.commit.len().min(12)])
    })?;
    let default_ref = head.default_branch.unwrap_or_else(|| git_ref.clone());
    Ok(Identity { repo, git_ref, commit: head.commit, default_ref })
}

/// What a push would do (`--dry-run` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct PushPlan {
    pub identity: Identity,
    /// File versions whose rows go up.
    pub send: Vec<PlannedFile>,
    pub rows_to_send: usize,
    /// Files the remote already holds in this version (with as many vectors).
    pub already_there: usize,
    /// Files left out because their working tree differs from the commit (or is untracked).
    pub uncommitted: Vec<String>,
    /// Files left out by `team.exclude`.
    pub excluded: Vec<String>,
    /// Files left out because the index is behind the working tree for them (the writer has
    /// not caught up yet): pushing their rows would label old symbols with the new commit.
    pub stale: Vec<String>,
    /// The ref's view after the push.
    #[serde(skip)]
    view: Vec<ViewRow>,
    /// The ref's file rows on the remote when the plan was made (the push sends the difference)
    /// and the views version they were read at.
    #[serde(skip)]
    previous: Vec<ViewRow>,
    #[serde(skip)]
    views_read_at: u64,
}

/// One file version a push sends.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub file_hash: String,
    pub rows: usize,
    pub embedded: usize,
}

impl PushPlan {
    pub fn files_in_view(&self) -> usize {
        self.view.len()
    }
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn exclusions(globs: &[String]) -> anyhow::Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    for glob in globs {
        set.add(globset::Glob::new(glob).with_context(|| format!("invalid `team.exclude` glob {glob:?}"))?);
    }
    Ok(set.build()?)
}

/// Decides what a push sends: the private index's files, minus exclusions and uncommitted
/// files, whose version the remote lacks or holds with fewer vectors.
pub async fn plan_push(
    root: &Path,
    store: &Store,
    remote: &Remote,
    team: &TeamSettings,
    options: &IndexOptions,
) -> anyhow::Result<PushPlan> {
    let identity = identity(root, team)?;
    let exclude = exclusions(&team.exclude)?;
    let uncommitted = git::uncommitted_paths(root)?;
    let on_disk = hash_workspace(root, options).await?;
    let mut local: Vec<((String, String), (usize, usize))> = store.file_versions().await?.into_iter().collect();
    local.sort();
    let (existing, views_read_at) = match remote.views(false).await? {
        Some(views) => {
            let read_at = views.version().await.map_err(|e| remote_error(remote.uri(), &e.into()))?;
            let mut rows = views.rows(Some(&identity.repo)).await.map_err(|e| remote_error(remote.uri(), &e.into()))?;
            rows.retain(|row| !row.is_header());
            (rows, read_at)
        }
        None => (Vec::new(), 0),
    };
    // The best copy of each version on the remote, over every ref's view.
    let mut known: HashMap<(&str, &str), (u32, u32)> = HashMap::new();
    for row in &existing {
        let best = known.entry((row.path.as_str(), row.file_hash.as_str())).or_insert((row.symbols, row.embedded));
        if row.embedded > best.1 {
            *best = (row.symbols, row.embedded);
        }
    }
    let identity_ref = identity.git_ref.clone();
    let previous: HashMap<&str, &ViewRow> =
        existing.iter().filter(|row| row.git_ref == identity.git_ref).map(|row| (row.path.as_str(), row)).collect();
    let pushed_at = now_micros();
    let mut plan = PushPlan {
        identity,
        send: Vec::new(),
        rows_to_send: 0,
        already_there: 0,
        uncommitted: Vec::new(),
        excluded: Vec::new(),
        stale: Vec::new(),
        view: Vec::new(),
        previous: existing.iter().filter(|row| row.git_ref == identity_ref).cloned().collect(),
        views_read_at,
    };
    let mut local_paths = HashSet::new();
    for ((path, hash), (rows, embedded)) in local {
        local_paths.insert(path.clone());
        if exclude.is_match(&path) {
            plan.excluded.push(path);
            continue;
        }
        let behind = on_disk.get(&path) != Some(&hash);
        if uncommitted.contains(&path) || behind {
            // The ref keeps the version its previous push recorded.
            if let Some(row) = previous.get(path.as_str()) {
                plan.view.push((*row).clone());
            }
            if uncommitted.contains(&path) {
                plan.uncommitted.push(path);
            } else {
                plan.stale.push(path);
            }
            continue;
        }
        let (symbols, vectors) = match known.get(&(path.as_str(), hash.as_str())) {
            Some(&(symbols, vectors)) if vectors as usize >= embedded => {
                plan.already_there += 1;
                (symbols, vectors)
            }
            _ => {
                plan.rows_to_send += rows;
                plan.send.push(PlannedFile { path: path.clone(), file_hash: hash.clone(), rows, embedded });
                (rows as u32, embedded as u32)
            }
        };
        plan.view.push(ViewRow {
            repo: plan.identity.repo.clone(),
            git_ref: plan.identity.git_ref.clone(),
            commit: plan.identity.commit.clone(),
            default_ref: plan.identity.default_ref.clone(),
            path,
            file_hash: hash,
            symbols,
            embedded: vectors,
            pushed_at,
        });
    }
    // A file deleted in the working tree but not in the commit keeps its previous version too.
    let mut gone: Vec<&String> = uncommitted.iter().filter(|path| !local_paths.contains(*path)).collect();
    gone.sort();
    for path in gone {
        if exclude.is_match(path) {
            continue;
        }
        if let Some(row) = previous.get(path.as_str()) {
            plan.view.push((*row).clone());
            plan.uncommitted.push(path.clone());
        }
    }
    Ok(plan)
}

/// What a push did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushReport {
    pub files_sent: usize,
    pub rows_sent: usize,
    pub files_in_view: usize,
    /// The repository table's version after the push (`None` when nothing had to be sent).
    pub table_version: Option<u64>,
    pub views_version: u64,
    /// Maintenance the push did on the remote table (index build, compaction), if any.
    pub maintenance: Option<String>,
}

/// Carries out a plan: the file versions in one commit of the repository's table, then the
/// ref's view in one commit of `views.lance`.
pub async fn push(plan: PushPlan, store: &Store, remote: &Remote) -> anyhow::Result<PushReport> {
    let PushPlan { identity, send, mut view, previous, views_read_at, .. } = plan;
    let mut report = PushReport::default();
    let views = remote.views(true).await?.context("creating the views table")?;
    if !send.is_empty() {
        let paths: Vec<String> = send.iter().map(|file| file.path.clone()).collect();
        let batches = store.batches_of_paths(&paths).await?;
        // The writer may have committed a newer version of a file since the plan: the view
        // names exactly the versions sent.
        let sent = crate::store::count_versions(&batches)?;
        let by_path: HashMap<&str, (&str, usize, usize)> = sent
            .iter()
            .map(|((path, hash), &(rows, vectors))| (path.as_str(), (hash.as_str(), rows, vectors)))
            .collect();
        let sending: HashSet<&str> = paths.iter().map(String::as_str).collect();
        view.retain_mut(|row| {
            if !sending.contains(row.path.as_str()) {
                return true;
            }
            match by_path.get(row.path.as_str()) {
                Some(&(hash, rows, vectors)) => {
                    row.file_hash = hash.to_string();
                    row.symbols = rows as u32;
                    row.embedded = vectors as u32;
                    true
                }
                None => false,
            }
        });
        report.files_sent = sent.len();
        report.rows_sent = sent.values().map(|(rows, _)| rows).sum();
        let table = remote.repo_table(&identity.repo, true).await?.context("creating the repository's table")?;
        report.table_version =
            Some(table.upsert_versions(batches).await.map_err(|error| remote_error(remote.uri(), &error.into()))?);
        crash_point("team-push-after-rows");
        // Two pushers maintaining at once conflict on the index commit; one retry on the new
        // version folds in whatever the other's index did not cover.
        let maintained = match maintain(&table).await {
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                maintain(&table).await
            }
            done => done,
        };
        report.maintenance = match maintained {
            Ok(done) => done,
            // The rows are committed; a failed maintenance only leaves searches slower.
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "maintenance of the team table failed");
                None
            }
        };
    }
    report.files_in_view = view.len();
    let header = ViewRow::header(
        &identity.repo,
        &identity.git_ref,
        &identity.commit,
        &identity.default_ref,
        &view,
        now_micros(),
    );
    report.views_version = views
        .replace_ref(&header, &previous, &view, views_read_at)
        .await
        .map_err(|error| remote_error(remote.uri(), &error.into()))?;
    // Every push adds a small fragment to the views; a failed compaction only slows reads.
    if let Err(error) = views.compact(crate::store::MAX_FRAGMENTS, KEEP_REMOTE_VERSIONS).await {
        tracing::warn!(error = %format!("{error:#}"), "compaction of the team views failed");
    }
    Ok(report)
}

/// A crash the tests can trigger between two steps (`ZENITH_CRASH_POINT=<name>`): the process
/// aborts as a `kill -9` would, at exactly the riskiest moment, so a test can show that what
/// is left is consistent. Nothing sets it outside the tests.
fn crash_point(name: &str) {
    if std::env::var_os("ZENITH_CRASH_POINT").is_some_and(|point| point == name) {
        eprintln!("ZENITH_CRASH_POINT={name}: aborting");
        std::process::abort();
    }
}

/// Keeps the remote table searchable and compact, with the private table's policy.
/// Concurrent pushers are safe: Lance rebases compaction and appends on each other.
pub(crate) async fn maintain(table: &Store) -> anyhow::Result<Option<String>> {
    Ok(table.maintain(KEEP_REMOTE_VERSIONS).await?.map(|done| done.to_string()))
}

/// `path → content hash` of the workspace's source files, off the async workers.
pub(crate) async fn hash_workspace(root: &Path, options: &IndexOptions) -> anyhow::Result<HashMap<String, String>> {
    let (root, options) = (root.to_path_buf(), options.clone());
    tokio::task::spawn_blocking(move || crate::daemon::source_file_hashes(&root, &options))
        .await
        .map_err(|error| anyhow::anyhow!("hashing the workspace panicked: {error}"))?
}

/// Pushes by itself for as long as the folder's writer runs, as `team.push` says: after a
/// commit or checkout settles (`on-commit`: HEAD moved, stayed put for one poll, the writer has
/// caught up; once more when the back-fill completes the vectors), or every
/// `push_interval_secs` (`interval`). Failures are logged and retried later; they never stop
/// the writer.
pub async fn auto_push(
    root: std::path::PathBuf,
    store: Store,
    settings: crate::config::Settings,
    snapshots: tokio::sync::watch::Receiver<std::sync::Arc<crate::daemon::Snapshot>>,
) {
    use crate::config::PushMode;
    let mode = settings.team.push;
    let remote = match Remote::from_settings(&settings.team) {
        Ok(Some(remote)) if mode != PushMode::Manual => remote,
        _ => return,
    };
    let poll = match mode {
        PushMode::Interval => settings.team.push_interval,
        _ => Duration::from_secs(2),
    };
    let mut pushed: Option<(String, bool)> = None;
    let mut seen_head: Option<String> = None;
    loop {
        tokio::time::sleep(poll).await;
        let snapshot = snapshots.borrow().clone();
        if !snapshot.ready() || snapshot.status.indexing || snapshot.status.pending_changes > 0 {
            continue;
        }
        let Ok(Some(head)) = git::head(&root) else { continue };
        let complete = snapshot.status.embedded >= snapshot.status.symbols;
        if mode == PushMode::OnCommit {
            let settled = seen_head.as_deref() == Some(head.commit.as_str());
            seen_head = Some(head.commit.clone());
            let done = pushed
                .as_ref()
                .is_some_and(|(commit, was_complete)| *commit == head.commit && (*was_complete || !complete));
            if !settled || done {
                continue;
            }
        }
        let result = async {
            let plan = plan_push(&root, &store, &remote, &settings.team, &settings.index).await?;
            let behind = !plan.stale.is_empty();
            let report = push(plan, &store, &remote).await?;
            anyhow::Ok((report, behind))
        }
        .await;
        match result {
            Ok((report, behind)) => {
                tracing::info!(
                    files = report.files_sent,
                    rows = report.rows_sent,
                    remote = remote.uri(),
                    "pushed to the team remote"
                );
                // A push that had to leave files out (the writer was behind) is not the commit's.
                if !behind {
                    pushed = Some((head.commit, complete));
                }
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "pushing to the team remote failed; retrying later");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
    }
}

/// One pushed ref of a repository.
#[derive(Debug, Clone, Serialize)]
pub struct RefStatus {
    pub git_ref: String,
    pub commit: String,
    pub files: usize,
    pub symbols: usize,
    pub embedded: usize,
    /// µs since the epoch.
    pub pushed_at: i64,
}

/// `znt team status`.
#[derive(Debug, Clone, Serialize)]
pub struct TeamStatus {
    pub remote: String,
    pub repo: Option<String>,
    pub reachable: bool,
    pub error: Option<String>,
    /// Repositories with at least one pushed ref.
    pub repositories: Vec<String>,
    /// This repository's pushed refs.
    pub refs: Vec<RefStatus>,
}

pub async fn status(remote: &Remote, repo: Option<&str>) -> TeamStatus {
    let mut status = TeamStatus {
        remote: remote.uri().to_string(),
        repo: repo.map(str::to_string),
        reachable: false,
        error: None,
        repositories: Vec::new(),
        refs: Vec::new(),
    };
    let rows = match remote.views(false).await {
        Ok(Some(views)) => match views.rows(None).await {
            Ok(rows) => rows,
            Err(error) => {
                status.error = Some(remote_error(remote.uri(), &error.into()).to_string());
                return status;
            }
        },
        Ok(None) => Vec::new(),
        Err(error) => {
            status.error = Some(format!("{error:#}"));
            return status;
        }
    };
    status.reachable = true;
    let mut repositories: Vec<String> = rows.iter().map(|row| row.repo.clone()).collect();
    repositories.sort();
    repositories.dedup();
    status.repositories = repositories;
    let mut refs: HashMap<&str, RefStatus> = HashMap::new();
    for row in rows.iter().filter(|row| Some(row.repo.as_str()) == repo) {
        let entry = refs.entry(row.git_ref.as_str()).or_insert_with(|| RefStatus {
            git_ref: row.git_ref.clone(),
            commit: row.commit.clone(),
            files: 0,
            symbols: 0,
            embedded: 0,
            pushed_at: row.pushed_at,
        });
        if !row.is_header() {
            entry.files += 1;
            entry.symbols += row.symbols as usize;
            entry.embedded += row.embedded as usize;
        }
        if row.pushed_at > entry.pushed_at {
            entry.pushed_at = row.pushed_at;
            entry.commit = row.commit.clone();
        }
    }
    status.refs = refs.into_values().collect();
    status.refs.sort_by_key(|b| std::cmp::Reverse(b.pushed_at));
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_distinct() {
        let a = repo_slug("github.com/org/a-b/c");
        let b = repo_slug("github.com/org/a/b-c");
        assert!(a.starts_with("github.com_org_a-b_c-"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn remote_errors_are_one_line_and_say_what_is_wrong() {
        let error = anyhow::anyhow!("lance operation failed: Generic S3 error: 403 Forbidden\nInvalidAccessKeyId");
        let message = remote_error("s3://b/p", &error).to_string();
        assert!(!message.contains('\n') && message.contains("credentials"), "{message}");
    }
}
