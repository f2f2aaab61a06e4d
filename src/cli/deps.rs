//! `znt deps index|status|gc`: the dependency tier's command line.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;

use super::{Bars, Outcome, load_embedder};
use crate::config::Settings;
use crate::deps::{self, Cache, DepsProgress};

#[derive(Debug, Subcommand)]
pub enum DepsAction {
    /// Index every package version the lock files name that this machine has not indexed yet
    /// (names first, then embeddings), copying from the team remote what a teammate indexed.
    Index {
        /// Names only; skip embeddings.
        #[arg(long)]
        no_embed: bool,
        #[arg(long)]
        json: bool,
    },
    /// The lock files, and each package version: indexed, names only, or missing (and why).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Remove package versions that no workspace on this machine uses any more.
    Gc {
        #[arg(long)]
        json: bool,
    },
}

impl DepsProgress for Bars {
    fn packages(&self, done: usize, total: usize) {
        crate::daemon::IndexProgress::files(self, done, total);
    }
    fn embedded(&self, done: usize, total: usize) {
        crate::daemon::IndexProgress::embedded(self, done, total);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub(super) async fn run(
    action: DepsAction,
    workspace: &Path,
    settings: &Settings,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let cache = Cache::open();
    let mut out = std::io::stdout().lock();
    match action {
        DepsAction::Index { no_embed, json } => {
            anyhow::ensure!(settings.deps.enabled, "dependency indexing is turned off (`[deps] enabled = false`)");
            let embedder = if no_embed || !settings.embed_enabled {
                None
            } else {
                match load_embedder(settings) {
                    Ok(embedder) => Some(embedder),
                    Err(error) => {
                        eprintln!("warning: dependency embeddings skipped: {error:#}");
                        None
                    }
                }
            };
            let remote = if settings.deps.share { crate::team::Remote::from_settings(&settings.team)? } else { None };
            let bars = Bars::new(quiet || json);
            let run = deps::IndexRun { embedder: embedder.as_ref(), remote: remote.as_ref(), progress: &bars };
            let report = deps::index(workspace, settings, &cache, run).await?;
            for bar in [&bars.files, &bars.embedded].into_iter().flatten() {
                bar.finish_and_clear();
            }
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else if !quiet {
                let per_mib =
                    if report.source_bytes > 0 { report.names_ready_secs / mib(report.source_bytes) } else { 0.0 };
                eprintln!(
                    "{} package versions: {} indexed here ({} symbols from {:.1} MiB of source, {:.2} s/MiB), {} copied \
                     from the team remote, {} already indexed, {} missing (see `znt deps status`); names ready in \
                     {:.1}s; {} embedded; {} pushed; {} unused versions removed; {:.1}s in all",
                    report.packages,
                    report.indexed,
                    report.symbols_written,
                    mib(report.source_bytes),
                    per_mib,
                    report.pulled,
                    report.reused,
                    report.missing,
                    report.names_ready_secs,
                    report.embedded,
                    report.pushed,
                    report.collected,
                    report.total_secs
                );
            }
            Ok(Outcome::Done)
        }
        DepsAction::Status { json } => {
            let status = deps::status(workspace, settings, &cache)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&status)?)?;
                return Ok(Outcome::Done);
            }
            writeln!(out, "workspace {}", status.workspace.display())?;
            writeln!(out, "cache     {}", status.cache.display())?;
            writeln!(
                out,
                "lock files {}",
                if status.lock_files.is_empty() { "none found".to_string() } else { status.lock_files.join(", ") }
            )?;
            for error in &status.errors {
                writeln!(out, "unreadable {error}")?;
            }
            for package in &status.packages {
                let detail = match package.state {
                    "indexed" | "names" => format!(
                        "{} symbols ({} embedded), {} files, {:.1} MiB table",
                        package.symbols,
                        package.embedded,
                        package.files,
                        mib(package.table_bytes)
                    ),
                    "missing" => package.reason.clone().unwrap_or_default(),
                    _ => "not indexed yet (run `znt deps index`)".into(),
                };
                writeln!(
                    out,
                    "{:<8} {} {} ({})  {detail}",
                    package.state,
                    package.package.name,
                    package.package.version,
                    package.package.ecosystem.as_str()
                )?;
            }
            writeln!(
                out,
                "total    {} package versions: {} indexed, {} names only, {} missing, {} pending; {} symbols ({} \
                 embedded), {:.1} MiB",
                status.packages.len(),
                status.indexed,
                status.names_only,
                status.missing,
                status.pending,
                status.symbols,
                status.embedded,
                mib(status.table_bytes)
            )?;
            Ok(Outcome::Done)
        }
        DepsAction::Gc { json } => {
            let _lock = cache.lock().await?;
            let removed = deps::collect_garbage(&cache)?;
            deps::sync_catalog(&cache).await?;
            if json {
                writeln!(out, "{}", serde_json::json!({ "removed": removed }))?;
            } else if !quiet {
                eprintln!("removed {removed} package versions that no workspace uses");
            }
            Ok(Outcome::Done)
        }
    }
}
