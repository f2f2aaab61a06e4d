//! The command line: subcommands call the same library functions the daemon uses.
//!
//! Results go to stdout (one stable JSON object per line with `--json`); logs and progress
//! bars go to stderr. A closed stdout (`znt search … | head`) ends the command quietly.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

mod deps;
mod find;
mod output;
mod team;
pub use output::ColorChoice;
use output::Paint;

use crate::daemon::IndexProgress;
use crate::embed::Embedder;
use crate::query::federated::Scope;
use crate::query::{Engine, Filters, SearchMode};
use crate::store::{Store, StoreConfig};

#[derive(Debug, Parser)]
#[command(
    name = "znt",
    version,
    about = "Zenith: a private, always-fresh index of your workspace's API symbols",
    after_help = "Exit status (as grep and ripgrep): 0 success (also when stdout is closed early), 1 when `symbols` or\n\
                  `search` finds nothing, 2 on an error or invalid usage.\n\
                  Environment: ZENITH_INDEX_DIR, ZENITH_CACHE_DIR, ZENITH_LANCE_EXTENSION, ZENITH_MODEL_DIR,\n\
                  ZENITH_OFFLINE=1, NO_COLOR, RUST_LOG (logs go to stderr; RUST_LOG wins over -q/-v)."
)]
pub struct Cli {
    #[command(flatten)]
    pub location: IndexLocation,
    /// Color results: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Errors only: no progress bars, warnings or summaries.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// Which index a command works on.
#[derive(Debug, Clone, Args)]
pub struct IndexLocation {
    /// Index directory or s3://bucket/prefix (default: a per-workspace folder in the XDG cache).
    #[arg(long, global = true, env = "ZENITH_INDEX_DIR")]
    pub index_dir: Option<String>,
    /// Workspace root (default: the nearest ancestor of the current directory with a
    /// `.zenith.toml`, else its version-control root, else the current directory).
    #[arg(long, global = true)]
    pub workspace: Option<PathBuf>,
    /// The team's shared index, s3://bucket/prefix (overrides `[team] remote`; see docs/team.md).
    #[arg(long, global = true, env = "ZENITH_TEAM_REMOTE", value_name = "URI")]
    pub team_remote: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch what Zenith needs at run time (the DuckDB lance extension, the embedding model)
    /// into the cache, hash-checked.
    Setup,
    /// Build or update the index of a workspace (names first, then embeddings).
    Index {
        /// Workspace root (default: --workspace, else the workspace of the current directory).
        path: Option<PathBuf>,
        /// Index names only; skip embeddings (semantic search then covers nothing new).
        #[arg(long)]
        no_embed: bool,
        /// Do not copy rows from the team remote (parse and embed everything here).
        #[arg(long)]
        no_team: bool,
    },
    /// Find symbols by name (the `workspace/symbol` ranking).
    Symbols {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Which indexes to read: this workspace's (private), the team remote's (team), the
        /// dependencies' (deps), or all of them (all).
        #[arg(long, value_enum, default_value = "private")]
        scope: Scope,
        /// Only this dependency (implies `--scope deps` unless a scope is given). A query
        /// `serde::Deserializer` does the same for the dependency part of a search.
        #[arg(long, value_name = "NAME")]
        package: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Search by meaning (semantic), words (fulltext) or both (hybrid, the default).
    Search {
        query: String,
        #[arg(long, value_enum, default_value = "hybrid")]
        mode: SearchMode,
        #[arg(long = "lang")]
        language: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long = "path")]
        path_prefix: Option<String>,
        #[arg(long)]
        visibility: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Which indexes to read: this workspace's (private), the team remote's (team), the
        /// dependencies' (deps), or all of them (all).
        #[arg(long, value_enum, default_value = "private")]
        scope: Scope,
        /// Only this dependency (implies `--scope deps` unless a scope is given).
        #[arg(long, value_name = "NAME")]
        package: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Index the public API of the packages the workspace's lock files name, from their sources
    /// on disk (cargo registry, node_modules, the virtualenv, the Go module cache), once per
    /// machine; search them with `--scope deps|all`.
    Deps {
        #[command(subcommand)]
        action: deps::DepsAction,
    },
    /// Share the index with the team through its own bucket (`[team] remote`): push this
    /// branch's symbols, pull what teammates pushed, show what is there.
    Team {
        #[command(subcommand)]
        action: TeamAction,
    },
    /// Run the language server on stdin/stdout (started by an editor).
    Serve {
        /// Maximum `workspace/symbol` results (clients may override with
        /// initializationOptions.symbolLimit).
        #[arg(long)]
        symbol_limit: Option<usize>,
    },
    /// Run the MCP server on stdin/stdout (started by a coding agent): tools to find symbols by
    /// name or code by meaning, read one symbol or a file's outline, and check the index. It
    /// writes the index itself, or follows the editor's server or daemon that already does.
    Mcp {
        /// Do not load the embedding model (names and full-text search only).
        #[arg(long)]
        no_embed: bool,
    },
    /// Keep the index of a workspace up to date until interrupted (the daemon without an editor).
    Daemon {
        /// Workspace root (default: --workspace, else the workspace of the current directory).
        path: Option<PathBuf>,
        /// Do not load the embedding model (names only).
        #[arg(long)]
        no_embed: bool,
    },
    /// Run one read-only SQL query over the index: the `symbols` view (every column but the
    /// full-text document) and `symbols_fts(query, k)`. Writes and file access are refused.
    Sql {
        query: String,
        #[arg(long)]
        json: bool,
    },
    /// Show what the index holds, whether it is ready, and which configuration files were read.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `znt completions bash > ~/.local/share/bash-completion/completions/znt`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into a directory.
    Man {
        /// Write znt.1 and znt-<command>.1 here instead.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamAction {
    /// Send the rows of the files the remote lacks, as this branch and commit.
    Push {
        /// List what would be sent (files and symbol counts) without sending anything.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Copy the team's rows (symbols and vectors) of every file whose version matches, then
    /// index the rest by name.
    Pull {
        #[arg(long)]
        json: bool,
    },
    /// The remote, whether it answers, this repository's pushed refs and what a push would send.
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// What a command found: `symbols` and `search` exit with 1 when nothing matched.
enum Outcome {
    Done,
    NothingFound,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // Lance's object-store throttle warns at every retry of a remote that is down; the error
    // that follows says it in one line.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},lance::object_store::throttle=error")));
    // Logs go to stderr: stdout carries results (and, in serve mode, the protocol).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Commands about the command line itself need no workspace.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "znt", &mut std::io::stdout().lock());
            return Ok(Outcome::Done);
        }
        Command::Man { dir } => {
            match dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                    clap_mangen::generate_to(Cli::command(), dir)
                        .with_context(|| format!("writing the man pages into {}", dir.display()))?;
                }
                None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?,
            }
            return Ok(Outcome::Done);
        }
        _ => {}
    }
    let paint = Paint::new(cli.color);
    let quiet = cli.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut location = cli.location;
    // The language server resolves the settings of each workspace folder the editor opens.
    if let Command::Serve { symbol_limit } = &cli.command {
        let options = crate::lsp::ServeOptions { index_dir: location.index_dir.clone(), symbol_limit: *symbol_limit };
        runtime.block_on(crate::lsp::serve(options))?;
        // Leave without waiting for background work: the client has gone.
        std::process::exit(0);
    }
    // The workspace: the path given (to `index` / `daemon`, or `--workspace`), else the one the
    // current directory belongs to, found by walking up as cargo and git do.
    let explicit = match &cli.command {
        Command::Index { path: Some(path), .. } | Command::Daemon { path: Some(path), .. } => Some(path.clone()),
        _ => location.workspace.clone(),
    };
    let workspace = match explicit {
        Some(path) => path.canonicalize().with_context(|| format!("resolving the workspace {}", path.display()))?,
        None => crate::config::find_workspace_root(&std::env::current_dir().context("reading the current directory")?),
    };
    location.workspace = Some(workspace.clone());
    let mut settings = crate::config::load(Some(&workspace))?;
    if let Some(remote) = &location.team_remote {
        settings.team.remote = Some(remote.clone());
    }
    if location.index_dir.is_none() {
        location.index_dir = settings.index_dir.clone();
    }
    match cli.command {
        Command::Setup => {
            let engine = Engine::open().context("obtaining the DuckDB lance extension")?;
            eprintln!("lance extension: {:?}", engine.extension_source());
            let model = crate::assets::model_dir().context("obtaining the embedding model")?;
            eprintln!("embedding model: {}", model.display());
            Ok(Outcome::Done)
        }
        Command::Index { no_embed, no_team, .. } => {
            let embed = !no_embed && settings.embed_enabled;
            if no_team {
                settings.team.remote = None;
            }
            runtime.block_on(index(&location, &workspace, &settings, embed, quiet))?;
            Ok(Outcome::Done)
        }
        Command::Symbols { query, limit, scope, package, json } => {
            let scope = if package.is_some() && scope == Scope::Private { Scope::Deps } else { scope };
            find::symbols(&runtime, &location, &settings, &workspace, &paint, query, limit, scope, package, json)
        }
        Command::Search { query, mode, language, kind, path_prefix, visibility, limit, scope, package, json } => {
            let scope = if package.is_some() && scope == Scope::Private { Scope::Deps } else { scope };
            let filters = Filters { language, kind, path_prefix, visibility };
            let args = find::SearchArgs { query, mode, filters, limit, scope, package, json };
            find::search(&runtime, &location, &settings, &workspace, &paint, args)
        }
        Command::Deps { action } => runtime.block_on(deps::run(action, &workspace, &settings, quiet)),
        Command::Serve { .. } | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("handled above")
        }
        Command::Mcp { no_embed } => {
            let mut settings = settings;
            settings.embed_enabled &= !no_embed;
            let options =
                crate::mcp::McpOptions { workspace: workspace.clone(), index_uri: index_uri(&location)?, settings };
            runtime.block_on(crate::mcp::serve(options))?;
            // Leave without waiting for background work (the writer, blocking reads): the
            // client has gone.
            std::process::exit(0);
        }
        Command::Team { action } => runtime.block_on(async {
            match action {
                TeamAction::Push { dry_run, json } => {
                    team::push(&location, &workspace, &settings, dry_run, json, quiet).await
                }
                TeamAction::Pull { json } => team::pull(&location, &workspace, &settings, json, quiet).await,
                TeamAction::Status { json } => team::status(&location, &workspace, &settings, json).await,
            }
        }),
        Command::Daemon { no_embed, .. } => {
            runtime.block_on(run_daemon(&location, &workspace, &settings, !no_embed && settings.embed_enabled))?;
            Ok(Outcome::Done)
        }
        Command::Sql { query, json } => {
            let store = runtime.block_on(open_existing_store(&location))?;
            let engine = query_engine(&store)?;
            let batches = engine.read_only_sql(&store.dataset_uri(), &query)?;
            let mut out = std::io::stdout().lock();
            if json {
                let mut writer = duckdb::arrow::json::LineDelimitedWriter::new(Vec::new());
                let refs: Vec<&duckdb::arrow::record_batch::RecordBatch> = batches.iter().collect();
                writer.write_batches(&refs)?;
                writer.finish()?;
                out.write_all(&writer.into_inner())?;
            } else {
                writeln!(out, "{}", duckdb::arrow::util::pretty::pretty_format_batches(&batches)?)?;
            }
            Ok(Outcome::Done)
        }
        Command::Status { json } => {
            // A workspace nobody indexed yet still gets its configuration and assets shown.
            let uri = index_uri(&location)?;
            let stats = match runtime.block_on(Store::open(&StoreConfig::existing(uri.clone()))) {
                Ok(store) => Some((store.dataset_uri(), runtime.block_on(store.stats())?)),
                Err(crate::store::StoreError::NotFound { .. }) => {
                    unusable_location(&uri)?;
                    None
                }
                Err(error) => return Err(error).with_context(|| format!("opening the index at {uri}")),
            };
            let model_installed = crate::assets::local_model_dir().ok().flatten().is_some();
            let extension_installed = crate::assets::local_lance_extension().ok().flatten().is_some();
            let (ready, readiness) = match &stats {
                Some((_, stats)) => readiness(stats, settings.embed_enabled, model_installed),
                None => (false, format!("no index yet (build it with `znt index {}`)", workspace.display())),
            };
            let config: Vec<String> = settings.sources.iter().map(|p| p.display().to_string()).collect();
            let model = crate::store::EmbeddingModel::default().name;
            let mut out = std::io::stdout().lock();
            if json {
                let value = serde_json::json!({
                    "workspace": workspace.display().to_string(),
                    "index": stats.as_ref().map_or(uri.clone(), |(dataset, _)| dataset.clone()),
                    "exists": stats.is_some(),
                    "version": stats.as_ref().map(|(_, s)| s.version),
                    "symbols": stats.as_ref().map_or(0, |(_, s)| s.rows),
                    "embedded": stats.as_ref().map_or(0, |(_, s)| s.embedded_rows),
                    "fragments": stats.as_ref().map_or(0, |(_, s)| s.fragments),
                    "model": model,
                    "model_installed": model_installed,
                    "extension_installed": extension_installed,
                    "ready": ready,
                    "readiness": readiness,
                    "config_files": config,
                });
                writeln!(out, "{value}")?;
            } else {
                writeln!(out, "workspace {}", workspace.display())?;
                writeln!(out, "index     {}", stats.as_ref().map_or(uri.as_str(), |(dataset, _)| dataset.as_str()))?;
                writeln!(out, "ready     {readiness}")?;
                if let Some((_, stats)) = &stats {
                    writeln!(out, "version   {}", stats.version)?;
                    writeln!(out, "symbols   {} ({} embedded)", stats.rows, stats.embedded_rows)?;
                    writeln!(out, "fragments {}", stats.fragments)?;
                }
                let installed = |yes: bool| if yes { "installed" } else { "not installed (run `znt setup`)" };
                writeln!(out, "model     {model} ({})", installed(model_installed))?;
                writeln!(out, "lance     DuckDB lance extension ({})", installed(extension_installed))?;
                if config.is_empty() {
                    writeln!(out, "config    none read (built-in defaults and the environment)")?;
                }
                for (number, file) in config.iter().enumerate() {
                    writeln!(out, "{}{file}", if number == 0 { "config    " } else { "          " })?;
                }
            }
            Ok(Outcome::Done)
        }
    }
}

/// A local index location that can never hold an index (a file on its path) is an error,
/// not an index that is merely missing.
fn unusable_location(uri: &str) -> anyhow::Result<()> {
    if uri.contains("://") {
        return Ok(());
    }
    if let Some(existing) = Path::new(uri).ancestors().find(|ancestor| ancestor.exists())
        && !existing.is_dir()
    {
        anyhow::bail!("opening the index at {uri}: {} is not a directory", existing.display());
    }
    Ok(())
}

/// Whether every kind of search is fully served, and the sentence `znt status` says about it.
fn readiness(stats: &crate::store::TableStats, embed_enabled: bool, model_installed: bool) -> (bool, String) {
    if stats.rows == 0 {
        return (false, "no symbols indexed (run `znt index`)".into());
    }
    if !embed_enabled {
        return (true, "yes: names and full text (embeddings are turned off)".into());
    }
    if !model_installed {
        return (false, "names and full text only: the embedding model is not installed (run `znt setup`)".into());
    }
    if stats.embedded_rows < stats.rows {
        let share = stats.embedded_rows * 100 / stats.rows;
        return (
            false,
            format!(
                "names and full text; embeddings {share}% done (run `znt index`, or keep a server running, to finish)"
            ),
        );
    }
    (true, "yes: names, full text and embeddings".into())
}

fn load_embedder(settings: &crate::config::Settings) -> anyhow::Result<Embedder> {
    let dir = crate::assets::model_dir()?;
    Ok(Embedder::load(&dir, settings.embed)?)
}

/// Progress bars on stderr when it is a terminal; nothing otherwise.
struct Bars {
    files: Option<ProgressBar>,
    embedded: Option<ProgressBar>,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let interactive = !quiet && std::io::stderr().is_terminal();
        let bar = |label: &str| {
            interactive.then(|| {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{label:>9} [{{bar:30}}] {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            })
        };
        Bars { files: bar("files"), embedded: bar("embedded") }
    }
}

impl IndexProgress for Bars {
    fn files(&self, done: usize, total: usize) {
        if let Some(bar) = &self.files {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }
    fn embedded(&self, done: usize, total: usize) {
        if let Some(bar) = &self.embedded {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }
}

async fn index(
    location: &IndexLocation,
    workspace: &Path,
    settings: &crate::config::Settings,
    embed: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Every writer takes the writer lock: `znt index` beside a running server or daemon would
    // otherwise race it commit for commit.
    let _lock = crate::daemon::IndexLock::acquire(&index_uri(location)?)?;
    let bars = Bars::new(quiet);
    let options = settings.index.clone();
    // With a team remote, every file whose version a teammate pushed is copied (symbols and
    // vectors) instead of parsed and embedded. A remote that is down only costs the copy.
    let team = match crate::team::Remote::from_settings(&settings.team)? {
        Some(remote) => match crate::team::repo_name(workspace, &settings.team) {
            Ok(repo) => Some((remote, repo)),
            Err(error) => {
                eprintln!("warning: team remote not used: {error:#}");
                None
            }
        },
        None => None,
    };
    // A fresh clone whose files are mostly on the remote starts as a copy of the team's table.
    let mut seeded = None;
    if let Some((remote, repo)) = &team {
        let config = StoreConfig::new(index_uri(location)?);
        match crate::team::seed(workspace, &config, remote, repo, &options).await {
            Ok(report) => seeded = report,
            Err(error) => eprintln!("warning: the team's table was not cloned: {error:#}"),
        }
    }
    let store = open_store(location).await?;
    let mut pulled = None;
    if let Some((remote, repo)) = &team {
        match crate::team::pull(workspace, &store, remote, repo, &options).await {
            Ok(report) => pulled = Some(report),
            Err(error) => eprintln!("warning: nothing copied from the team remote: {error:#}"),
        }
    }
    let report = crate::daemon::reconcile(workspace, &store, &options, &bars).await?;
    if embed && let Some((remote, repo)) = &team {
        match crate::team::fill_embeddings(&store, remote, repo).await {
            Ok(filled) => {
                if let Some(pulled) = &mut pulled {
                    pulled.vectors_copied += filled;
                }
            }
            Err(error) => eprintln!("warning: the team's embedding cache was not used: {error:#}"),
        }
    }
    if let Some(bar) = &bars.files {
        bar.finish_and_clear();
    }
    let mut embedded = 0;
    if embed {
        match load_embedder(settings) {
            Ok(embedder) => {
                embedded = crate::daemon::embed_pending(&store, &embedder, options.embed_batch, &bars).await?;
            }
            // Names stay searchable without the model; say how to get semantic search.
            Err(error) => eprintln!("warning: embeddings skipped: {error:#}"),
        }
    }
    if let Some(bar) = &bars.embedded {
        bar.finish_and_clear();
    }
    // Extends the indexes by what changed; only a missing index is trained from scratch.
    let maintained = std::time::Instant::now();
    let maintenance = store.maintain(crate::store::KEEP_VERSIONS).await?;
    tracing::debug!(ms = maintained.elapsed().as_millis() as u64, ?maintenance, "maintained");
    let stats = store.stats().await?;
    if quiet {
        return Ok(());
    }
    if let Some(seeded) = &seeded {
        eprintln!(
            "cloned the team's table: {} files ({} symbols, {} vectors; {} rows of other versions dropped)",
            seeded.files_copied, seeded.rows_copied, seeded.vectors_copied, seeded.rows_dropped
        );
    }
    if let Some(pulled) = &pulled {
        eprintln!(
            "copied {} files ({} symbols, {} vectors) from the team remote",
            pulled.files_copied, pulled.rows_copied, pulled.vectors_copied
        );
    }
    eprintln!(
        "indexed {} files ({} parsed, {} unchanged, {} deleted, {} with syntax errors, {} skipped) → {} symbols, \
         {} embedded ({} now, {} reused) in {:.1}s\nindex: {}",
        report.files_seen,
        report.files_parsed,
        report.files_unchanged,
        report.files_deleted,
        report.files_partial,
        report.skipped.len(),
        stats.rows,
        stats.embedded_rows,
        embedded,
        report.embeddings_reused,
        started.elapsed().as_secs_f64(),
        store.dataset_uri()
    );
    Ok(())
}

async fn run_daemon(
    location: &IndexLocation,
    workspace: &Path,
    settings: &crate::config::Settings,
    embed: bool,
) -> anyhow::Result<()> {
    let uri = index_uri(location)?;
    // A daemon is a writer or nothing: beside another writer it refuses (with the lock's
    // message) instead of following. The folder takes the lock again at once.
    drop(crate::daemon::IndexLock::acquire(&uri)?);
    let embedder = if embed {
        match load_embedder(settings) {
            Ok(embedder) => Some(std::sync::Arc::new(embedder)),
            Err(error) => {
                eprintln!("warning: embeddings off: {error:#}");
                None
            }
        }
    } else {
        None
    };
    let mut settings = settings.clone();
    settings.embed_enabled &= embed;
    let config = crate::daemon::FolderConfig::new(workspace.canonicalize()?, uri, settings, embedder);
    // The same owner as the editor's server and the MCP server: the live loop, the watcher,
    // maintenance and the team auto-push (`team.push`).
    let folder = crate::daemon::open_folder(config).await?;
    let mut snapshots = folder.subscribe();
    let mut reported: Option<String> = None;
    loop {
        tokio::select! {
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let snapshot = snapshots.borrow_and_update().clone();
                if snapshot.error != reported {
                    if let Some(error) = &snapshot.error {
                        tracing::error!(%error, "indexing stopped; retrying");
                    }
                    reported = snapshot.error.clone();
                }
                let status = &snapshot.status;
                tracing::info!(
                    version = status.version,
                    symbols = status.symbols,
                    embedded = status.embedded,
                    commit_ms = status.last_commit_ms,
                    "index updated"
                );
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The process's DuckDB engine, able to read `store` (object-store credentials registered).
/// Only query commands need it: loading the lance extension costs ~0.6 s.
fn query_engine(store: &Store) -> anyhow::Result<std::sync::Arc<Engine>> {
    let engine = Engine::shared()?;
    engine.register_storage(store.uri(), store.storage_options())?;
    Ok(engine)
}

async fn open_store(location: &IndexLocation) -> anyhow::Result<Store> {
    let uri = index_uri(location)?;
    let config = StoreConfig::new(uri.clone());
    let store = Store::open(&config).await.with_context(|| format!("opening the index at {uri}"))?;
    Ok(store)
}

/// Opens the index of a query command: an index nobody built is an error that says how to
/// build it (never a new, silently empty one).
async fn open_existing_store(location: &IndexLocation) -> anyhow::Result<Store> {
    let uri = index_uri(location)?;
    match Store::open(&StoreConfig::existing(uri.clone())).await {
        Ok(store) => Ok(store),
        Err(crate::store::StoreError::NotFound { .. }) => {
            let workspace = location.workspace.as_deref().map(|w| w.display().to_string()).unwrap_or_default();
            anyhow::bail!(
                "opening the index at {uri}: there is no index for the workspace {workspace} yet; \
                 build it with `znt index {workspace}`"
            )
        }
        Err(error) => Err(error).with_context(|| format!("opening the index at {uri}")),
    }
}

/// The index location: `--index-dir` / `ZENITH_INDEX_DIR`, else
/// `<cache>/indexes/<workspace name>-<hash of its canonical path>`.
pub fn index_uri(location: &IndexLocation) -> anyhow::Result<String> {
    if let Some(dir) = &location.index_dir {
        return Ok(dir.clone());
    }
    let workspace = match &location.workspace {
        Some(path) => path.clone(),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    Ok(crate::config::default_index_dir(&workspace)?.to_string_lossy().into_owned())
}
