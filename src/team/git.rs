//! What the team tier asks git: the repository's name (from `origin`), the ref and commit a
//! push represents, and which files differ from that commit. Read with the `git` program, the
//! way a user's own tools see the repository (worktrees, `safe.directory`, config includes).

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use anyhow::Context;

/// Runs `git -C root args…` and returns its trimmed stdout, or `None` when git fails (not a
/// repository, no such ref). A missing `git` program is an error.
fn git(root: &Path, args: &[&str]) -> anyhow::Result<Option<String>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .context("running git (the team tier reads the repository's origin, branch and changes with it)")?;
    if !output.status.success() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&output.stdout).trim_end_matches(['\n', '\r']).to_string()))
}

/// The repository's name on the remote, from the `origin` URL: host and path, without the
/// scheme, user, port and `.git`, so every clone (https or ssh) names the same table:
/// `git@github.com:Org/Repo.git` and `https://github.com/Org/Repo` are both `github.com/org/repo`.
pub fn normalize_origin(url: &str) -> Option<String> {
    let url = url.trim();
    let without_scheme = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like syntax: `user@host:path`.
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') => format!("{host}/{path}"),
            _ => url.to_string(),
        },
    };
    let (host, path) = without_scheme.split_once('/')?;
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let path = path.trim_matches('/').trim_end_matches(".git").trim_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{host}/{}", path.to_ascii_lowercase()))
}

/// The repository name derived from `origin`, if the workspace has one.
pub fn origin_repo(root: &Path) -> anyhow::Result<Option<String>> {
    Ok(git(root, &["config", "--get", "remote.origin.url"])?.and_then(|url| normalize_origin(&url)))
}

/// Where the workspace stands: the checked-out branch (`None` when HEAD is detached), the
/// commit, and the repository's default branch (`origin/HEAD`, else the current branch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub branch: Option<String>,
    pub commit: String,
    pub default_branch: Option<String>,
}

pub fn head(root: &Path) -> anyhow::Result<Option<Head>> {
    let Some(commit) = git(root, &["rev-parse", "--verify", "-q", "HEAD"])? else {
        return Ok(None);
    };
    let branch = git(root, &["symbolic-ref", "-q", "--short", "HEAD"])?.filter(|b| !b.is_empty());
    let default_branch = git(root, &["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"])?
        .and_then(|name| name.split_once('/').map(|(_, branch)| branch.to_string()))
        .or_else(|| branch.clone());
    Ok(Some(Head { branch, commit, default_branch }))
}

/// Workspace-relative paths (under `root`, which may be a sub-directory of the repository)
/// that differ from HEAD: modified, added, deleted, renamed, or untracked and not ignored.
/// Their working-tree content is not the commit's, so a push leaves them out.
pub fn uncommitted_paths(root: &Path) -> anyhow::Result<HashSet<String>> {
    let prefix = git(root, &["rev-parse", "--show-prefix"])?.unwrap_or_default();
    let status = git(root, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", "."])?
        .with_context(|| format!("reading `git status` of {}", root.display()))?;
    let mut paths = HashSet::new();
    for entry in status.split('\0') {
        // `XY path`: two status letters and a space.
        let Some(path) = entry.get(3..) else { continue };
        if let Some(relative) = path.strip_prefix(prefix.as_str()) {
            paths.insert(relative.to_string());
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_url_of_a_repository_names_the_same_table() {
        for url in [
            "git@github.com:Org/Repo.git",
            "https://github.com/Org/Repo",
            "https://user@GitHub.com/Org/Repo.git/",
            "ssh://git@github.com:22/Org/Repo.git",
        ] {
            assert_eq!(normalize_origin(url).as_deref(), Some("github.com/org/repo"), "{url}");
        }
        assert_eq!(normalize_origin("nonsense"), None);
    }
}
