//! The language server (`znt serve`): LSP over stdio with tower-lsp-server.
//!
//! This module owns the protocol: initialization (workspace folders, position-encoding
//! negotiation), `$/progress`, `workspace/symbol`, the `zenith/*` requests and the mapping of
//! our types to protocol types. It holds no business logic: each folder is a `daemon::Folder`
//! (the writer, or a follower of another process's writer), searching is `query`. Requests read
//! the folder's latest `Snapshot` (one table version and its name index, swapped as a whole
//! after each commit) and never wait for indexing.
//! Nothing but protocol is written to stdout.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::daemon::{Event, Folder, Health, Role, WriterStatus};
use crate::embed::Embedder;
use crate::query::names::NameEntry;
use crate::query::{Engine, Filters, SearchMode, SearchRequest};
use folders::{add_folders, start_folders};

mod deps;
mod folders;
mod team;

/// What the command line gives the server. Everything else comes from the layered settings of
/// each workspace folder (`config::load_with_editor`): the user's file, the folder's
/// `.zenith.toml`, the environment, and the editor's own layer (`initializationOptions`, then
/// `workspace/didChangeConfiguration`).
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// `--index-dir` / `ZENITH_INDEX_DIR`: one index for a single-folder workspace; ignored
    /// with several folders.
    pub index_dir: Option<String>,
    /// `--symbol-limit`: maximum `workspace/symbol` results, above every other layer.
    pub symbol_limit: Option<usize>,
}

struct Shared {
    client: Client,
    options: ServeOptions,
    /// The editor's settings layer (`initializationOptions`, replaced by each
    /// `workspace/didChangeConfiguration`).
    editor: RwLock<crate::config::ConfigFile>,
    /// The effective `workspace/symbol` limit.
    symbol_limit: std::sync::atomic::AtomicUsize,
    folders: RwLock<Vec<Arc<Folder>>>,
    roots: RwLock<Vec<PathBuf>>,
    utf8: std::sync::atomic::AtomicBool,
    embedder: RwLock<Option<Arc<Embedder>>>,
    /// The model is loaded at most once per process (and its absence said once).
    embedder_tried: std::sync::atomic::AtomicBool,
    /// Folders opened so far (numbers their progress tokens).
    opened: std::sync::atomic::AtomicUsize,
    /// The client can register `workspace/didChangeWatchedFiles` dynamically.
    watched_files_dynamic: std::sync::atomic::AtomicBool,
    /// It was registered (a writer without its own file watcher relies on it).
    watched_files_registered: std::sync::atomic::AtomicBool,
    /// `lsp.symbol_scope` includes the team: `workspace/symbol` adds the team's names.
    team_symbols: std::sync::atomic::AtomicBool,
    /// The team repositories' name indexes (loaded in the background, refreshed every 30 s).
    team_names: RwLock<team::TeamNames>,
    /// `lsp.symbol_scope` includes dependencies: `workspace/symbol` adds their names.
    deps_symbols: std::sync::atomic::AtomicBool,
    /// The dependencies' name index (loaded in the background when the catalog changes).
    deps_names: RwLock<deps::DepsNames>,
}

/// The protocol handler.
pub struct Backend {
    shared: Arc<Shared>,
}

/// Runs the server on stdin/stdout until the client exits or stdin closes.
pub async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let (service, socket) = LspService::build(|client| Backend {
        shared: Arc::new(Shared {
            client,
            symbol_limit: std::sync::atomic::AtomicUsize::new(options.symbol_limit.unwrap_or(1000)),
            options,
            editor: RwLock::new(Default::default()),
            folders: RwLock::new(Vec::new()),
            roots: RwLock::new(Vec::new()),
            utf8: std::sync::atomic::AtomicBool::new(false),
            embedder: RwLock::new(None),
            embedder_tried: std::sync::atomic::AtomicBool::new(false),
            opened: std::sync::atomic::AtomicUsize::new(0),
            watched_files_dynamic: std::sync::atomic::AtomicBool::new(false),
            watched_files_registered: std::sync::atomic::AtomicBool::new(false),
            team_symbols: std::sync::atomic::AtomicBool::new(false),
            team_names: RwLock::new(Default::default()),
            deps_symbols: std::sync::atomic::AtomicBool::new(false),
            deps_names: RwLock::new(Default::default()),
        }),
    })
    .custom_method("zenith/search", Backend::search)
    .custom_method("zenith/status", Backend::status)
    .custom_method("zenith/reindex", Backend::reindex)
    .custom_method("zenith/team/push", Backend::team_push)
    .custom_method("zenith/team/status", Backend::team_status)
    .finish();
    // tower-lsp-server stops reading after a body that is not JSON; the framing layer below
    // answers such messages with a parse error itself and passes only JSON on, so one bad
    // message never ends the session.
    let (server_input, mut to_server) = tokio::io::duplex(1 << 20);
    let (mut from_server, server_output) = tokio::io::duplex(1 << 20);
    let (inject, mut injected) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let reader = tokio::spawn(async move {
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
        while let Ok(Some(frame)) = read_frame(&mut stdin).await {
            let body = match frame {
                Frame::Body(body) => body,
                Frame::TooLarge(length) => {
                    tracing::error!(length, "a message over the size limit; ending the session");
                    let error = serde_json::json!({
                        "jsonrpc": "2.0",
                        "id": null,
                        "error": {
                            "code": -32600,
                            "message": format!(
                                "Invalid request: Content-Length {length} exceeds the limit of {MAX_MESSAGE_BYTES} bytes"
                            )
                        }
                    });
                    let _ = inject.send(error.to_string().into_bytes());
                    break;
                }
            };
            if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
                if write_frame(&mut to_server, &body).await.is_err() {
                    break;
                }
            } else {
                tracing::warn!("malformed JSON-RPC message; answering with a parse error");
                let error = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": null,
                    "error": { "code": -32700, "message": "Parse error: the message body is not JSON" }
                });
                let _ = inject.send(error.to_string().into_bytes());
            }
        }
        // Dropping the pipe ends the session, as a closed stdin should.
    });
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut stdout = tokio::io::stdout();
        let mut server_frames = tokio::io::BufReader::new(&mut from_server);
        loop {
            let body = tokio::select! {
                frame = read_frame(&mut server_frames) => match frame {
                    Ok(Some(Frame::Body(body))) => body,
                    _ => break,
                },
                Some(body) = injected.recv() => body,
            };
            if write_frame(&mut stdout, &body).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
        // An error the reader sent as it ended the session still goes out.
        while let Ok(body) = injected.try_recv() {
            if write_frame(&mut stdout, &body).await.is_err() {
                break;
            }
        }
        let _ = stdout.flush().await;
    });
    Server::new(server_input, server_output, socket).serve(service).await;
    reader.abort();
    let _ = writer.await;
    Ok(())
}

/// The largest message body accepted: a `Content-Length` above it ends the session with an
/// error instead of an allocation of that size (the stream cannot be resynchronised after it).
const MAX_MESSAGE_BYTES: u64 = 64 << 20;
/// Header lines are read at most this long (a line without an end allocates no more).
const MAX_HEADER_LINE: u64 = 8 << 10;

/// One framed message.
enum Frame {
    Body(Vec<u8>),
    /// A `Content-Length` over [`MAX_MESSAGE_BYTES`] (nothing was allocated for it).
    TooLarge(u64),
}

/// Reads one `Content-Length`-framed message; `None` at end of input.
async fn read_frame<R: tokio::io::AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<Option<Frame>> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut length: Option<u64> = None;
    loop {
        let mut line = String::new();
        if (&mut *input).take(MAX_HEADER_LINE).read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_MESSAGE_BYTES {
        return Ok(Some(Frame::TooLarge(length)));
    }
    let mut body = vec![0u8; length as usize];
    input.read_exact(&mut body).await?;
    Ok(Some(Frame::Body(body)))
}

async fn write_frame<W: tokio::io::AsyncWrite + Unpin>(output: &mut W, body: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    output.write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await?;
    output.write_all(body).await
}

/// Runs a handler, turning a panic into an InternalError response: the server keeps serving.
async fn guarded<T>(future: impl std::future::Future<Output = jsonrpc::Result<T>>) -> jsonrpc::Result<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".to_string());
            tracing::error!(%message, "request handler panicked");
            Err(jsonrpc::Error { code: jsonrpc::ErrorCode::InternalError, message: message.into(), data: None })
        }
    }
}

fn invalid_params(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error { code: jsonrpc::ErrorCode::InvalidParams, message: message.into().into(), data: None }
}

fn internal(error: impl std::fmt::Display) -> jsonrpc::Error {
    jsonrpc::Error { code: jsonrpc::ErrorCode::InternalError, message: error.to_string().into(), data: None }
}

/// `zenith/search` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    pub query: String,
    #[serde(default = "default_mode")]
    pub mode: SearchMode,
    pub language: Option<String>,
    pub kind: Option<String>,
    pub path_prefix: Option<String>,
    pub visibility: Option<String>,
    pub limit: Option<usize>,
    /// `private` (the default), `team`, `deps` or `all`.
    #[serde(default)]
    pub scope: crate::query::federated::Scope,
}

fn default_mode() -> SearchMode {
    SearchMode::Hybrid
}

/// One `zenith/search` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub name: String,
    pub qualified_name: String,
    pub kind: String,
    pub language: String,
    pub location: Location,
    pub signature: String,
    pub doc: Option<String>,
    pub score: f32,
    /// The team repository of a hit from the team remote (its location is then a
    /// `zenith-team:` URI: the file is not in this workspace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The dependency of a hit from a package table: `{ecosystem, name, version}` (its
    /// location is the file in the package's sources, or a `zenith-deps:` URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::deps::Package>,
}

/// `zenith/status` result, one entry per folder.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderStatus {
    pub root: String,
    pub index: String,
    pub read_only: bool,
    pub model: String,
    pub embedder_loaded: bool,
    /// The folder's state as clients show it: ok, indexing, embedding, degraded or error.
    pub health: Health,
    /// Why, when the health is not ok.
    pub health_message: Option<String>,
    #[serde(flatten)]
    pub writer: WriterStatus,
}

impl Backend {
    async fn search(&self, params: SearchParams) -> jsonrpc::Result<Vec<SearchResult>> {
        guarded(self.search_inner(params)).await
    }

    async fn search_inner(&self, params: SearchParams) -> jsonrpc::Result<Vec<SearchResult>> {
        let limit = params.limit.unwrap_or(20).clamp(1, 500);
        let embedder = self.shared.embedder.read().map_err(internal)?.clone();
        // Without the model, hybrid search is full-text search (the status's health says so);
        // semantic search cannot be answered.
        let mode = match (params.mode, &embedder) {
            (SearchMode::Hybrid, None) => SearchMode::Fulltext,
            (mode, _) => mode,
        };
        let vector = match mode {
            SearchMode::Fulltext => None,
            SearchMode::Semantic | SearchMode::Hybrid => {
                let embedder = embedder.ok_or_else(|| {
                    invalid_params("the embedding model is not available (see `znt setup`); use mode \"fulltext\"")
                })?;
                let text = params.query.clone();
                let vector = tokio::task::spawn_blocking(move || embedder.embed_query(&text))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?;
                Some(vector)
            }
        };
        let mut request = SearchRequest::new(mode, params.query.clone(), vector);
        request.limit = limit;
        request.filters = Filters {
            language: params.language,
            kind: params.kind,
            path_prefix: params.path_prefix,
            visibility: params.visibility,
        };
        let folders = self.shared.folders.read().map_err(internal)?.clone();
        let utf8 = self.shared.utf8.load(std::sync::atomic::Ordering::Relaxed);
        let scope = params.scope;
        let sources = match scope {
            crate::query::federated::Scope::Team => {
                team::search_sources(&self.shared, &folders).await.map_err(internal)?
            }
            // `all` is every tier there is: without a team remote (or while it is down) the
            // others still answer.
            crate::query::federated::Scope::All => match team::search_sources(&self.shared, &folders).await {
                Ok(sources) => sources,
                Err(error) => {
                    tracing::debug!(error = %format!("{error:#}"), "no team sources for scope all");
                    Vec::new()
                }
            },
            _ => Vec::new(),
        };
        let deps_scope = if scope.deps() { deps::folders_scope(&self.shared) } else { None };
        let results = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<SearchResult>> {
            let engine = Engine::shared()?;
            // The dependencies' catalog is searched on a second thread while the folders and
            // the team's repositories are (each dataset has its own connection).
            let deps_search = |engine: &Engine| -> anyhow::Result<Option<Vec<crate::query::Hit>>> {
                let Some(deps_scope) = &deps_scope else { return Ok(None) };
                // `serde::Deserializer` searches `Deserializer` in serde only.
                let (only, text) = match deps_scope.split_query(&request.text) {
                    Some((only, rest)) => (Some(only), rest.to_string()),
                    None => (None, request.text.clone()),
                };
                let mut deps_request = request.clone();
                deps_request.text = text;
                Ok(Some(only.as_ref().unwrap_or(deps_scope).search(engine, &deps_request)?))
            };
            let (lists, roots, deps_hits) = std::thread::scope(|threads| -> anyhow::Result<_> {
                let deps = threads.spawn(|| deps_search(&engine));
                // Each folder's hits, then each team repository's, as ranked lists.
                let mut lists = Vec::new();
                let mut roots: HashMap<String, PathBuf> = HashMap::new();
                if scope.private() {
                    for folder in folders.iter() {
                        let snapshot = folder.snapshot();
                        if !snapshot.ready() {
                            continue;
                        }
                        let hits = engine.search_at(&folder.dataset, snapshot.version, &request)?;
                        for hit in &hits {
                            roots.entry(hit.id.clone()).or_insert_with(|| folder.root.clone());
                        }
                        lists.push(hits);
                    }
                }
                for source in &sources {
                    lists.push(engine.search_view(source, &request)?);
                }
                let deps_hits = deps.join().map_err(|_| anyhow::anyhow!("the dependency search panicked"))??;
                Ok((lists, roots, deps_hits))
            })?;
            let mut lists = lists;
            lists.extend(deps_hits);
            let hits = if scope == crate::query::federated::Scope::Private {
                let mut hits: Vec<crate::query::Hit> = lists.into_iter().flatten().collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score));
                hits
            } else {
                crate::query::federated::fuse(lists, None, &Default::default(), request.limit)
            };
            let mut results = Vec::new();
            for hit in hits {
                let range = range(
                    hit.start_line,
                    hit.start_col,
                    hit.start_col_utf16,
                    hit.end_line,
                    hit.end_col,
                    hit.end_col_utf16,
                    utf8,
                );
                let uri = match (&hit.repo, &hit.package, roots.get(&hit.id)) {
                    (Some(repo), _, _) => format!("zenith-team:///{repo}/{}", hit.path).parse::<Uri>().ok(),
                    (None, Some(key), _) => {
                        deps_scope.as_ref().and_then(|scope| deps::dependency_uri(scope, key, &hit.path))
                    }
                    (None, None, Some(root)) => Uri::from_file_path(root.join(&hit.path)),
                    (None, None, None) => None,
                };
                let Some(uri) = uri else {
                    continue;
                };
                results.push(SearchResult {
                    name: hit.name,
                    qualified_name: hit.qualified_name,
                    kind: hit.kind,
                    language: hit.language,
                    location: Location { uri, range },
                    signature: hit.signature,
                    doc: hit.doc,
                    score: hit.score,
                    repo: hit.repo,
                    package: hit.package.as_deref().and_then(crate::deps::Package::from_key),
                });
            }
            results.truncate(request.limit);
            Ok(results)
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        Ok(results)
    }

    async fn status(&self) -> jsonrpc::Result<Vec<FolderStatus>> {
        let folders = self.shared.folders.read().map_err(internal)?.clone();
        let embedder_loaded = self.shared.embedder.read().map(|e| e.is_some()).unwrap_or(false);
        Ok(folders
            .iter()
            .map(|folder| {
                let snapshot = folder.snapshot();
                let (health, health_message) = snapshot.health(folder.embed_enabled, embedder_loaded);
                FolderStatus {
                    root: folder.root.display().to_string(),
                    index: folder.dataset.clone(),
                    read_only: snapshot.role == Role::Follower,
                    model: crate::store::EmbeddingModel::default().name,
                    embedder_loaded,
                    health,
                    health_message,
                    writer: snapshot.status.clone(),
                }
            })
            .collect())
    }

    async fn reindex(&self) -> jsonrpc::Result<()> {
        for folder in self.shared.folders.read().map_err(internal)?.iter() {
            folder.send(Event::Rescan);
        }
        Ok(())
    }

    fn folder_of(&self, path: &Path) -> Option<Arc<Folder>> {
        let folders = self.shared.folders.read().ok()?;
        folders.iter().filter(|f| path.starts_with(&f.root)).max_by_key(|f| f.root.as_os_str().len()).cloned()
    }

    fn notify_paths(&self, uris: impl IntoIterator<Item = Uri>) {
        let mut by_folder: HashMap<PathBuf, (Arc<Folder>, Vec<PathBuf>)> = HashMap::new();
        for uri in uris {
            let Some(path) = uri.to_file_path().map(|p| p.into_owned()) else {
                continue;
            };
            if let Some(folder) = self.folder_of(&path) {
                by_folder.entry(folder.root.clone()).or_insert_with(|| (folder.clone(), Vec::new())).1.push(path);
            }
        }
        for (_, (folder, paths)) in by_folder {
            folder.send(Event::Paths(paths));
        }
    }
}

fn range(
    start_line: u32,
    start_col: u32,
    start_col_utf16: u32,
    end_line: u32,
    end_col: u32,
    end_col_utf16: u32,
    utf8: bool,
) -> Range {
    let (start, end) = if utf8 { (start_col, end_col) } else { (start_col_utf16, end_col_utf16) };
    Range { start: Position { line: start_line, character: start }, end: Position { line: end_line, character: end } }
}

fn symbol_kind(kind: &str) -> SymbolKind {
    match kind {
        "module" => SymbolKind::MODULE,
        "namespace" => SymbolKind::NAMESPACE,
        "class" => SymbolKind::CLASS,
        "struct" => SymbolKind::STRUCT,
        "enum" => SymbolKind::ENUM,
        "enum_member" => SymbolKind::ENUM_MEMBER,
        "interface" | "trait" => SymbolKind::INTERFACE,
        "type_alias" => SymbolKind::TYPE_PARAMETER,
        "function" | "macro" => SymbolKind::FUNCTION,
        "method" => SymbolKind::METHOD,
        "constructor" => SymbolKind::CONSTRUCTOR,
        "field" => SymbolKind::FIELD,
        "property" => SymbolKind::PROPERTY,
        "constant" | "static" => SymbolKind::CONSTANT,
        _ => SymbolKind::VARIABLE,
    }
}

/// `workspace/symbol` gives dependencies at most `limit / DEPS_SHARE` of its list.
pub const DEPS_SHARE: usize = 10;

/// Where a `workspace/symbol` match comes from.
enum Origin {
    Folder(PathBuf),
    Team(String),
    /// A dependency: its label (`serde 1.0.219`) and file.
    Dependency(String, Uri),
}

/// A name as a `WorkspaceSymbol`; a team repository's names carry the repository in their
/// container (`[repo] container`).
fn workspace_symbol(uri: Uri, entry: &NameEntry, utf8: bool, repo: Option<&str>) -> Option<WorkspaceSymbol> {
    let container = entry.parent.clone().or_else(|| {
        entry
            .qualified_name
            .strip_suffix(entry.name.as_str())
            .map(|c| c.trim_end_matches([':', '.', '\\', '#']).to_string())
            .filter(|c| !c.is_empty())
    });
    let container = match repo {
        Some(repo) => Some(format!("[{repo}] {}", container.unwrap_or_default()).trim_end().to_string()),
        None => container,
    };
    Some(WorkspaceSymbol {
        name: entry.name.clone(),
        kind: symbol_kind(&entry.kind),
        tags: None,
        container_name: container,
        location: OneOf::Left(Location {
            uri,
            range: range(
                entry.start_line,
                entry.start_col,
                entry.start_col_utf16,
                entry.end_line,
                entry.end_col,
                entry.end_col_utf16,
                utf8,
            ),
        }),
        data: None,
    })
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> jsonrpc::Result<InitializeResult> {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|folder| folder.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty()
            && let Some(root) = params.root_uri.as_ref().and_then(|u| u.to_file_path().map(|p| p.into_owned()))
        {
            roots.push(root);
        }
        *self.shared.roots.write().map_err(internal)? = roots;
        if let Some(options) = &params.initialization_options {
            // A client newer or older than this server may send keys it does not know: say so
            // and start with the other layers rather than refusing the session.
            match crate::config::editor_layer(options) {
                Ok(layer) => *self.shared.editor.write().map_err(internal)? = layer,
                Err(error) => {
                    self.shared
                        .client
                        .show_message(MessageType::ERROR, format!("zenith: initializationOptions ignored: {error:#}"))
                        .await
                }
            }
        }
        let utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
        self.shared.utf8.store(utf8, std::sync::atomic::Ordering::Relaxed);
        let dynamic = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        self.shared.watched_files_dynamic.store(dynamic, std::sync::atomic::Ordering::Relaxed);
        if let Some(pid) = params.process_id {
            watch_parent(pid);
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 { PositionEncodingKind::UTF8 } else { PositionEncodingKind::UTF16 }),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..Default::default()
                })),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo { name: "zenith".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            if let Err(error) = start_folders(shared.clone()).await {
                shared.client.log_message(MessageType::ERROR, format!("zenith: {error:#}")).await;
            }
            // Millions of dependency names load in the background, before the first query.
            if shared.deps_symbols.load(std::sync::atomic::Ordering::Relaxed) {
                deps::refresh_names(shared.clone());
            }
        });
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        Ok(())
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> jsonrpc::Result<Option<WorkspaceSymbolResponse>> {
        guarded(async {
            let limit = self.shared.symbol_limit.load(std::sync::atomic::Ordering::Relaxed);
            let utf8 = self.shared.utf8.load(std::sync::atomic::Ordering::Relaxed);
            let folders = self.shared.folders.read().map_err(internal)?.clone();
            let mut found = Vec::new();
            for folder in &folders {
                let names = folder.snapshot().names.clone();
                found.extend(
                    names.search(&params.query, limit).into_iter().map(|m| (m, Origin::Folder(folder.root.clone()))),
                );
            }
            if self.shared.team_symbols.load(std::sync::atomic::Ordering::Relaxed) {
                // The team's names come from memory; a stale copy is refreshed in the background.
                team::refresh_team_names(self.shared.clone());
                let indexes = self.shared.team_names.read().map_err(internal)?.indexes.clone();
                for (repo, names) in indexes {
                    found.extend(
                        names.search(&params.query, limit).into_iter().map(|m| (m, Origin::Team(repo.clone()))),
                    );
                }
            }
            if self.shared.deps_symbols.load(std::sync::atomic::Ordering::Relaxed) {
                deps::refresh_names(self.shared.clone());
                let names = self.shared.deps_names.read().map_err(internal)?;
                // Dependencies fill at most a tenth of the list (100 of the default 1 000, about
                // rust-analyzer's whole list of 128): the workspace's own names are what a
                // picker is for, and more package names cost the client (and this server) more
                // to rank, send and re-sort than they help.
                for m in deps::search_names(&names, &params.query, (limit / DEPS_SHARE).max(1)) {
                    found.push((m.found, Origin::Dependency(m.label, m.uri)));
                }
            }
            // Stable: on equal scores the workspace's own names come first, dependencies last.
            found.sort_by_key(|(found, _)| std::cmp::Reverse(found.score));
            found.truncate(limit);
            let symbols = found
                .iter()
                .filter_map(|(m, origin)| match origin {
                    Origin::Folder(root) => {
                        workspace_symbol(Uri::from_file_path(root.join(&m.entry.path))?, &m.entry, utf8, None)
                    }
                    Origin::Team(repo) => workspace_symbol(
                        format!("zenith-team:///{repo}/{}", m.entry.path).parse().ok()?,
                        &m.entry,
                        utf8,
                        Some(repo.as_str()),
                    ),
                    Origin::Dependency(label, uri) => workspace_symbol(uri.clone(), &m.entry, utf8, Some(label)),
                })
                .collect();
            Ok(Some(WorkspaceSymbolResponse::Nested(symbols)))
        })
        .await
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.notify_paths([params.text_document.uri]);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        self.notify_paths(params.changes.into_iter().map(|change| change.uri));
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let paths = |folders: &[WorkspaceFolder]| -> Vec<PathBuf> {
            folders
                .iter()
                .filter_map(|folder| folder.uri.to_file_path().map(|p| p.into_owned()))
                .map(|root| root.canonicalize().unwrap_or(root))
                .collect()
        };
        let removed = paths(&params.event.removed);
        if let Ok(mut folders) = self.shared.folders.write() {
            // Dropping a folder stops its writer (or follower) and releases its lock.
            folders.retain(|folder| !removed.contains(&folder.root));
        }
        let open: Vec<PathBuf> =
            self.shared.folders.read().map(|f| f.iter().map(|f| f.root.clone()).collect()).unwrap_or_default();
        let added: Vec<PathBuf> = paths(&params.event.added).into_iter().filter(|root| !open.contains(root)).collect();
        if !added.is_empty() {
            let shared = self.shared.clone();
            tokio::spawn(async move {
                if let Err(error) = add_folders(shared.clone(), added, false).await {
                    shared.client.show_message(MessageType::ERROR, format!("zenith: {error:#}")).await;
                }
            });
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let layer = match crate::config::editor_layer(&params.settings) {
            Ok(layer) => layer,
            Err(error) => {
                self.shared
                    .client
                    .show_message(MessageType::ERROR, format!("zenith: settings not applied: {error:#}"))
                    .await;
                return;
            }
        };
        if let Ok(mut editor) = self.shared.editor.write() {
            *editor = layer;
        }
        let folders = self.shared.folders.read().map(|f| f.clone()).unwrap_or_default();
        for (number, folder) in folders.iter().enumerate() {
            match folder_settings(&self.shared, &folder.root) {
                Ok(settings) => {
                    if number == 0 {
                        apply_symbol_limit(&self.shared, &settings);
                    }
                    folder.send(Event::Configure(Box::new(settings.index)));
                }
                Err(error) => {
                    self.shared.client.show_message(MessageType::ERROR, format!("zenith: {error:#}")).await;
                }
            }
        }
    }
}

/// The layered settings of one workspace folder, with the editor's current layer.
fn folder_settings(shared: &Shared, root: &Path) -> anyhow::Result<crate::config::Settings> {
    let editor = shared.editor.read().map_err(|e| anyhow::anyhow!("{e}"))?.clone();
    crate::config::load_with_editor(Some(root), Some(&editor))
}

/// The command line's `--symbol-limit` wins over every settings layer.
fn apply_symbol_limit(shared: &Shared, settings: &crate::config::Settings) {
    let limit = shared.options.symbol_limit.unwrap_or(settings.symbol_limit);
    shared.symbol_limit.store(limit, std::sync::atomic::Ordering::Relaxed);
    shared.team_symbols.store(settings.symbol_scope.team(), std::sync::atomic::Ordering::Relaxed);
    shared.deps_symbols.store(settings.symbol_scope.deps(), std::sync::atomic::Ordering::Relaxed);
}

/// Exits when the editor that started us dies without closing our stdin.
fn watch_parent(pid: u32) {
    std::thread::spawn(move || {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        if !proc_dir.exists() {
            return;
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(2));
            if !proc_dir.exists() {
                tracing::info!(pid, "parent process is gone; exiting");
                std::process::exit(0);
            }
        }
    });
}
