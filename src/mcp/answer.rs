//! The wording of the MCP tools' answers: compact, located text sized for an agent's context.
//!
//! Every result line starts with `path:line` (1-based) so an agent can open it directly; a
//! symbol's `#id` is its first 12 hex digits (unique within a workspace in practice, and
//! accepted back by `get_symbol`). Signatures and doc lines are capped; source is bounded.

use std::fmt::Write;
use std::path::Path;

use crate::daemon::{Role, Snapshot};
use crate::query::names::NameEntry;
use crate::query::{Engine, Filters, Hit, SymbolRow};

/// Digits of the id shown in answers.
const SHORT_ID: usize = 12;
/// Shortest id prefix `get_symbol` accepts.
const MIN_ID_PREFIX: usize = 8;
/// Characters of a signature in a result list.
const LIST_SIGNATURE_CHARS: usize = 200;
/// Characters of a doc's first line in a result list.
const LIST_DOC_CHARS: usize = 160;
/// Characters of a whole doc in `get_symbol`.
const FULL_DOC_CHARS: usize = 4000;
/// Characters of source in `get_symbol`, whatever the line count.
const SOURCE_CHARS: usize = 16_000;

fn short_id(id: &str) -> &str {
    &id[..id.len().min(SHORT_ID)]
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn capped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn first_doc_line(doc: Option<&str>) -> Option<String> {
    doc.and_then(|doc| doc.lines().map(str::trim).find(|line| !line.is_empty()))
        .map(|line| capped(line, LIST_DOC_CHARS))
}

fn describe_filters(filters: &Filters) -> String {
    let mut parts = Vec::new();
    if let Some(kind) = &filters.kind {
        parts.push(format!("kind={kind}"));
    }
    if let Some(language) = &filters.language {
        parts.push(format!("language={language}"));
    }
    if let Some(prefix) = &filters.path_prefix {
        parts.push(format!("path={prefix}"));
    }
    if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
}

fn entry_matches(entry: &NameEntry, filters: &Filters) -> bool {
    filters.kind.as_ref().is_none_or(|kind| entry.kind.eq_ignore_ascii_case(kind))
        && filters.language.as_ref().is_none_or(|language| entry.language.eq_ignore_ascii_case(language))
        // A plain prefix, as `search_code` applies it in SQL (`starts_with`).
        && filters.path_prefix.as_ref().is_none_or(|prefix| entry.path.starts_with(prefix.as_str()))
}

/// One result in a list.
struct Listed<'a> {
    /// The dependency (`serde 1.0.219`) a result belongs to.
    package: Option<String>,
    path: &'a str,
    line: u32,
    kind: &'a str,
    qualified: &'a str,
    id: &'a str,
    signature: Option<&'a str>,
    doc: Option<&'a str>,
}

impl Listed<'_> {
    /// `path:line  kind  qualified  #id`, then the signature and the doc's first line.
    fn push(&self, out: &mut String) {
        let package = self.package.as_deref().map(|p| format!("  [{p}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}:{}  {}  {}  #{}{package}",
            self.path,
            self.line + 1,
            self.kind,
            self.qualified,
            short_id(self.id)
        );
        if let Some(signature) = self.signature.filter(|s| !s.is_empty()) {
            let _ = writeln!(out, "    {}", capped(signature, LIST_SIGNATURE_CHARS));
        }
        if let Some(doc) = first_doc_line(self.doc) {
            let _ = writeln!(out, "    // {doc}");
        }
    }
}

/// `search_symbols`: the name index's ranking, filtered, with signatures and doc lines read
/// for the results from the same table version.
pub fn symbols(
    snapshot: &Snapshot,
    dataset: &str,
    query: &str,
    filters: &Filters,
    limit: usize,
) -> anyhow::Result<String> {
    let filtered = filters.kind.is_some() || filters.language.is_some() || filters.path_prefix.is_some();
    // With filters, rank a wider window and keep the matching ones (still in rank order).
    let window = if filtered { (limit * 50).max(2000) } else { limit };
    let found: Vec<NameEntry> = snapshot
        .names
        .search(query, window)
        .into_iter()
        .map(|found| found.entry)
        .filter(|entry| entry_matches(entry, filters))
        .take(limit)
        .collect();
    if found.is_empty() {
        return Ok(format!(
            "no symbols match `{query}`{} in {} indexed symbols",
            describe_filters(filters),
            snapshot.names.len()
        ));
    }
    let ids: Vec<String> = found.iter().map(|entry| entry.id.clone()).collect();
    let details = Engine::shared()?.symbols_by_ids(dataset, snapshot.version, &ids)?;
    let by_id: std::collections::HashMap<&str, &SymbolRow> = details.iter().map(|row| (row.id.as_str(), row)).collect();
    let mut out = format!("{} symbols match `{query}`{}:\n", found.len(), describe_filters(filters));
    for entry in &found {
        let detail = by_id.get(entry.id.as_str());
        Listed {
            package: None,
            path: &entry.path,
            line: entry.start_line,
            kind: &entry.kind,
            qualified: &entry.qualified_name,
            id: &entry.id,
            signature: detail.map(|d| d.signature.as_str()),
            doc: detail.and_then(|d| d.doc.as_deref()),
        }
        .push(&mut out);
    }
    Ok(out)
}

/// `search_code`: ranked hits of one search.
pub fn hits(query: &str, hits: &[Hit], filters: &Filters, note: Option<&str>) -> String {
    let note = note.map(|n| format!(" {n}")).unwrap_or_default();
    if hits.is_empty() {
        return format!("no code matches `{query}`{}{note}", describe_filters(filters));
    }
    let mut out = format!("{} results for `{query}`{}{note}:\n", hits.len(), describe_filters(filters));
    for hit in hits {
        Listed {
            package: hit
                .package
                .as_deref()
                .and_then(crate::deps::Package::from_key)
                .map(|p| format!("{} {}", p.name, p.version)),
            path: &hit.path,
            line: hit.start_line,
            kind: &hit.kind,
            qualified: &hit.qualified_name,
            id: &hit.id,
            signature: Some(&hit.signature),
            doc: hit.doc.as_deref(),
        }
        .push(&mut out);
    }
    out
}

/// Finds the symbol a `get_symbol` reference names: an id (prefix), `path:line` (the innermost
/// symbol whose lines contain it), or a qualified name (else a unique plain name).
pub fn resolve(
    engine: &Engine,
    snapshot: &Snapshot,
    dataset: &str,
    reference: &str,
    located: Option<(String, u32)>,
) -> Result<SymbolRow, String> {
    let failed = |error: crate::query::QueryError| error.to_string();
    let hex = reference.strip_prefix('#').unwrap_or(reference);
    if hex.len() >= MIN_ID_PREFIX && hex.len() <= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut rows =
            engine.symbols_by_id_prefix(dataset, snapshot.version, &hex.to_ascii_lowercase(), 2).map_err(failed)?;
        return match rows.len() {
            0 if reference.starts_with('#') || hex.len() == 32 => Err(format!(
                "no symbol with id #{hex} in the index (it was changed or removed since that result; search again)"
            )),
            0 => resolve_by_name(engine, snapshot, dataset, reference),
            1 => Ok(rows.remove(0)),
            _ => Err(format!("the id #{hex} is ambiguous; give more of its digits")),
        };
    }
    if let Some((path, line)) = located {
        let rows = engine.file_symbols(dataset, snapshot.version, &path).map_err(failed)?;
        let line0 = line.saturating_sub(1);
        return rows
            .into_iter()
            .filter(|row| row.start_line <= line0 && line0 <= row.end_line)
            .min_by_key(|row| row.end_line - row.start_line)
            .ok_or_else(|| format!("no indexed symbol at {path}:{line} (see file_outline for the file's symbols)"));
    }
    resolve_by_name(engine, snapshot, dataset, reference)
}

fn resolve_by_name(engine: &Engine, snapshot: &Snapshot, dataset: &str, reference: &str) -> Result<SymbolRow, String> {
    let failed = |error: crate::query::QueryError| error.to_string();
    let mut rows = engine.symbols_by_qualified_name(dataset, snapshot.version, reference, 10).map_err(failed)?;
    if rows.is_empty() {
        // A plain name that is unique is as good as a qualified one.
        let exact: Vec<NameEntry> = snapshot
            .names
            .search(reference, 10)
            .into_iter()
            .filter(|found| found.entry.name == reference || found.entry.qualified_name == reference)
            .map(|found| found.entry)
            .collect();
        let ids: Vec<String> = exact.iter().map(|entry| entry.id.clone()).collect();
        rows = engine.symbols_by_ids(dataset, snapshot.version, &ids).map_err(failed)?;
    }
    match rows.len() {
        0 => Err(format!("no symbol `{reference}` in the index (try search_symbols)")),
        1 => Ok(rows.remove(0)),
        count => {
            let mut message = format!("{count} symbols are called `{reference}`; pick one by #id:");
            for row in &rows {
                let _ = write!(message, " {}:{} {} #{};", row.path, row.start_line + 1, row.kind, short_id(&row.id));
            }
            Err(message.trim_end_matches(';').to_string())
        }
    }
}

/// `get_symbol`: the symbol in full, its parent and children from the same file, and its source
/// (at most `max_lines` lines, read now; flagged when the file changed since it was indexed).
pub fn symbol(
    symbol: &SymbolRow,
    file_rows: &[SymbolRow],
    source: Option<Result<Vec<u8>, String>>,
    max_lines: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}  #{}", symbol.kind, symbol.qualified_name, short_id(&symbol.id));
    let _ = writeln!(
        out,
        "{}:{}-{}  {}, {}{}",
        symbol.path,
        symbol.start_line + 1,
        symbol.end_line + 1,
        symbol.language,
        symbol.visibility,
        if symbol.partial { ", from a file with syntax errors" } else { "" }
    );
    if !symbol.signature.is_empty() {
        let _ = writeln!(out, "signature: {}", symbol.signature);
    }
    if let Some(doc) = symbol.doc.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = writeln!(out, "doc:\n{}", capped(doc.trim(), FULL_DOC_CHARS));
    }
    if let Some(parent) = &symbol.parent {
        match file_rows.iter().find(|row| &row.qualified_name == parent && row.id != symbol.id) {
            Some(row) => {
                let _ = writeln!(
                    out,
                    "parent: {}:{}  {} {}  #{}",
                    row.path,
                    row.start_line + 1,
                    row.kind,
                    row.qualified_name,
                    short_id(&row.id)
                );
            }
            None => {
                let _ = writeln!(out, "parent: {parent}");
            }
        }
    }
    let children: Vec<&SymbolRow> = file_rows
        .iter()
        .filter(|row| row.parent.as_deref() == Some(symbol.qualified_name.as_str()) && row.id != symbol.id)
        .collect();
    if !children.is_empty() {
        let _ = writeln!(out, "children ({}):", children.len());
        for child in children.iter().take(100) {
            let _ = writeln!(
                out,
                "  {}:{}  {}  {}",
                child.path,
                child.start_line + 1,
                child.kind,
                capped(if child.signature.is_empty() { &child.name } else { &child.signature }, LIST_SIGNATURE_CHARS)
            );
        }
        if children.len() > 100 {
            let _ = writeln!(out, "  … {} more (see file_outline)", children.len() - 100);
        }
    }
    match source {
        None => {}
        Some(Err(reason)) => {
            let _ = writeln!(out, "source: not readable ({reason})");
        }
        Some(Ok(bytes)) => {
            let changed = crate::symbols::content_hash(&bytes) != symbol.file_hash;
            let text = String::from_utf8_lossy(&bytes);
            let first = symbol.start_line as usize;
            let wanted = symbol.end_line as usize + 1 - first;
            let mut shown = String::new();
            let mut count = 0;
            for line in text.lines().skip(first).take(wanted.min(max_lines)) {
                if shown.len() + line.len() > SOURCE_CHARS {
                    break;
                }
                shown.push_str(line);
                shown.push('\n');
                count += 1;
            }
            if changed {
                let _ = writeln!(
                    out,
                    "note: {} changed since it was indexed; these are its current lines {}-{}, which may no longer be this symbol",
                    symbol.path,
                    first + 1,
                    first + count.max(1)
                );
            }
            let _ = writeln!(
                out,
                "source ({}:{}-{}{}):",
                symbol.path,
                first + 1,
                first + count.max(1),
                if count < wanted { format!(", {} of {} lines", count, wanted) } else { String::new() }
            );
            out.push_str("```\n");
            out.push_str(&shown);
            out.push_str("```\n");
        }
    }
    out
}

/// `file_outline`: the file's symbols in source order, indented by nesting.
pub fn outline(path: &str, rows: &[SymbolRow]) -> String {
    let language = rows.first().map(|row| row.language.as_str()).unwrap_or_default();
    let mut out = format!("{path} ({language}, {} symbols):\n", rows.len());
    // Depth from the parent chain; parents precede their children in source order.
    let mut depth_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (shown, row) in rows.iter().enumerate() {
        // A generated file can declare tens of thousands of symbols (one registry file made a
        // 100 000-token outline): the outline stops and says how to reach the rest.
        if shown == MAX_OUTLINE_ROWS {
            let last = rows.last().map_or(0, |row| row.start_line + 1);
            let _ = writeln!(
                out,
                "… {} more symbols (lines {}–{last}); search_symbols with path=\"{path}\" finds them",
                rows.len() - shown,
                row.start_line + 1
            );
            break;
        }
        let depth = row.parent.as_deref().and_then(|parent| depth_of.get(parent)).map_or(0, |d| d + 1);
        depth_of.entry(row.qualified_name.as_str()).or_insert(depth);
        let shown = if row.signature.is_empty() { format!("{} {}", row.kind, row.name) } else { row.signature.clone() };
        let _ = writeln!(
            out,
            "{:>5}  {}{}",
            row.start_line + 1,
            "  ".repeat(depth.min(8)),
            capped(&shown, LIST_SIGNATURE_CHARS)
        );
    }
    out
}

/// The most rows an outline lists (about 8 000 tokens at its longest).
pub const MAX_OUTLINE_ROWS: usize = 300;

/// `index_status`.
pub fn status(
    root: &Path,
    dataset: &str,
    snapshot: &Snapshot,
    files: Option<u64>,
    embedder: bool,
    (health, why): (crate::daemon::Health, Option<String>),
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "workspace: {}", root.display());
    let _ = writeln!(out, "index: {dataset}");
    let health = format!("{health:?}").to_lowercase();
    match why {
        Some(why) => _ = writeln!(out, "health: {health} ({why})"),
        None => _ = writeln!(out, "health: {health}"),
    }
    let role = match snapshot.role {
        Role::Starting if snapshot.ready() => {
            "writer, starting (serving the index as last written while checking it against the workspace)"
        }
        Role::Starting => "starting (first index or first read under way)",
        Role::Writer => "writer (this server watches the workspace and updates the index)",
        Role::Follower => "follower (another Zenith process writes; this server reads each commit)",
    };
    let _ = writeln!(out, "role: {role}");
    if snapshot.ready() {
        let status = &snapshot.status;
        if let Some(files) = files {
            let _ = writeln!(out, "files: {files}");
        }
        let share = (status.symbols > 0).then(|| status.embedded as f64 * 100.0 / status.symbols as f64);
        let _ = writeln!(
            out,
            "symbols: {} ({} embedded, {})",
            status.symbols,
            status.embedded,
            share.map_or("-".to_string(), |share| format!("{share:.0}%"))
        );
        let age = snapshot.seen_at.elapsed().map(|d| d.as_secs()).unwrap_or(0);
        let _ = writeln!(out, "version: {} (seen {age} s ago)", snapshot.version);
        if status.pending_changes > 0 {
            let _ = writeln!(out, "pending changes: {}", status.pending_changes);
        }
        if !status.last_errors.is_empty() {
            let _ = writeln!(out, "files skipped at the last commit: {}", status.last_errors.len());
            for skipped in status.last_errors.iter().take(5) {
                let _ = writeln!(out, "  {}: {}", skipped.relative, skipped.reason);
            }
        }
    } else {
        let _ = writeln!(out, "not ready: the first index is being built");
    }
    let _ = writeln!(
        out,
        "semantic search: {}",
        if embedder { "on" } else { "off (embedding model not installed here; run `znt setup`)" }
    );
    if let Some(error) = &snapshot.error {
        let _ = writeln!(out, "error: {error}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(qualified: &str, parent: Option<&str>, start: u32, end: u32) -> SymbolRow {
        SymbolRow {
            id: format!("{:0>32}", start),
            path: "src/a.rs".into(),
            language: "rust".into(),
            kind: "function".into(),
            name: qualified.rsplit("::").next().unwrap().into(),
            qualified_name: qualified.into(),
            parent: parent.map(str::to_string),
            signature: format!("fn {qualified}()"),
            doc: Some("First line.\n\nMore.".into()),
            visibility: "public".into(),
            start_line: start,
            end_line: end,
            partial: false,
            file_hash: crate::symbols::content_hash(b"fn a() {}\nfn b() {}\n"),
        }
    }

    #[test]
    fn outline_indents_children_under_their_parent() {
        let rows = vec![row("m", None, 0, 9), row("m::a", Some("m"), 1, 2), row("m::b", Some("m"), 3, 4)];
        let text = outline("src/a.rs", &rows);
        assert!(text.contains("    1  fn m()"), "{text}");
        assert!(text.contains("    2    fn m::a()"), "{text}");
    }

    #[test]
    fn a_huge_outline_stops_and_says_how_to_find_the_rest() {
        let rows: Vec<SymbolRow> = (0..1000).map(|i| row(&format!("f{i}"), None, i, i)).collect();
        let text = outline("gen.rs", &rows);
        assert_eq!(text.lines().count(), 1 + MAX_OUTLINE_ROWS + 1, "{text}");
        assert!(text.contains("… 700 more symbols (lines 301–1000)"), "{text}");
        assert!(text.contains("path=\"gen.rs\""), "{text}");
    }

    #[test]
    fn a_changed_file_is_flagged_and_source_is_bounded() {
        let target = row("b", None, 1, 1);
        let unchanged = symbol(&target, &[], Some(Ok(b"fn a() {}\nfn b() {}\n".to_vec())), 10);
        assert!(!unchanged.contains("changed since"), "{unchanged}");
        assert!(unchanged.contains("```\nfn b() {}\n```"), "{unchanged}");
        let changed = symbol(&target, &[], Some(Ok(b"fn a() {}\nfn c() {}\n".to_vec())), 10);
        assert!(changed.contains("changed since it was indexed"), "{changed}");
        let long = row("long", None, 0, 99);
        let bounded = symbol(&long, &[], Some(Ok("x\n".repeat(100).into_bytes())), 5);
        assert!(bounded.contains("5 of 100 lines"), "{bounded}");
    }

    #[test]
    fn caps_cut_on_characters() {
        assert_eq!(capped("héllo", 2), "hé…");
        assert_eq!(capped("hi", 5), "hi");
    }
}
