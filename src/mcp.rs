//! The MCP server (`znt mcp`): the index's door for coding agents, over stdio with rmcp.
//!
//! This module owns the protocol side only: the tool definitions (names, argument schemas,
//! descriptions an agent can act on), validation of arguments into one-line `isError` results,
//! and the compact text answers. The folder itself (writer or read-only follower of another
//! process's writer) is `daemon::Folder`; searching is `query`; the answers' wording is in
//! `mcp/answer.rs`. Nothing but protocol is written to stdout.

mod answer;
mod deps;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::{router::tool::ToolRouter, tool::ToolCallContext, wrapper::Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, schemars, tool, tool_router};

use crate::daemon::{Folder, FolderConfig, Snapshot};
use crate::embed::Embedder;
use crate::query::{Engine, Filters, SearchMode, SearchRequest};

/// What `znt mcp` is given: the workspace, its index and its settings.
#[derive(Debug, Clone)]
pub struct McpOptions {
    pub workspace: PathBuf,
    pub index_uri: String,
    pub settings: crate::config::Settings,
}

/// Longest accepted query text: longer is not a search an agent means.
const MAX_QUERY_CHARS: usize = 1000;
/// How long a tool call waits for a folder that is still being indexed for the first time.
const READY_WAIT: Duration = Duration::from_secs(20);

/// Runs the MCP server on stdin/stdout until the client closes stdin.
pub async fn serve(options: McpOptions) -> anyhow::Result<()> {
    let root = options.workspace.canonicalize()?;
    let state = Arc::new(State {
        root: root.clone(),
        folder: tokio::sync::OnceCell::new(),
        embedder: tokio::sync::OnceCell::new(),
        deps_names: Default::default(),
        options,
    });
    // The folder starts at once (indexing begins before the first question), without
    // delaying the `initialize` answer: loading the model and the extension takes a second.
    {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = state.folder().await {
                tracing::error!(error = %format!("{error:#}"), "starting the index failed");
            }
        });
    }
    let server = Zenith { state, tool_router: Zenith::tool_router() };
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

struct State {
    root: PathBuf,
    options: McpOptions,
    folder: tokio::sync::OnceCell<Folder>,
    embedder: tokio::sync::OnceCell<Option<Arc<Embedder>>>,
    deps_names: std::sync::Mutex<deps::DepsNames>,
}

impl State {
    /// The model, if one is on disk (never downloaded here: `znt setup` fetches it).
    async fn embedder(&self) -> Option<Arc<Embedder>> {
        let settings = &self.options.settings;
        let enabled = settings.embed_enabled;
        let config = settings.embed;
        self.embedder
            .get_or_init(|| async move {
                if !enabled {
                    return None;
                }
                tokio::task::spawn_blocking(move || match crate::assets::local_model_dir().ok().flatten() {
                    Some(dir) => match Embedder::load(&dir, config) {
                        Ok(embedder) => Some(Arc::new(embedder)),
                        Err(error) => {
                            tracing::warn!(%error, "embedding model failed to load; semantic search is off");
                            None
                        }
                    },
                    None => {
                        tracing::warn!("embedding model not available (run `znt setup`); semantic search is off");
                        None
                    }
                })
                .await
                .ok()
                .flatten()
            })
            .await
            .clone()
    }

    async fn folder(&self) -> anyhow::Result<&Folder> {
        self.folder
            .get_or_try_init(|| async {
                let embedder = self.embedder().await;
                let config = FolderConfig::new(
                    self.root.clone(),
                    self.options.index_uri.clone(),
                    self.options.settings.clone(),
                    embedder,
                );
                crate::daemon::open_folder(config).await
            })
            .await
    }

    /// The folder's snapshot once it has a committed version, else a tool error saying why.
    async fn ready_snapshot(&self) -> Result<(&Folder, Arc<Snapshot>), String> {
        let folder = self.folder().await.map_err(|error| format!("the index is unavailable: {error:#}"))?;
        let snapshot = folder.wait_ready(READY_WAIT).await;
        if !snapshot.ready() {
            return Err(match &snapshot.error {
                Some(error) => format!("the index is unavailable: {error}"),
                None => {
                    format!("the index of {} is still being built; try again in a few seconds", self.root.display())
                }
            });
        }
        Ok((folder, snapshot))
    }

    /// A workspace-relative path for `given` (relative to the root, or absolute inside it), or a
    /// refusal: the server never reads outside the workspace.
    fn workspace_path(&self, given: &str) -> Result<String, String> {
        let given = given.trim();
        if given.is_empty() {
            return Err("path is empty".to_string());
        }
        let path = Path::new(given);
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.root)
                .map_err(|_| format!("refused: {given} is outside the workspace {}", self.root.display()))?
                .to_path_buf()
        } else {
            path.to_path_buf()
        };
        let mut parts: Vec<String> = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(format!("refused: {given} is outside the workspace {}", self.root.display()));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!("refused: {given} is outside the workspace {}", self.root.display()));
                }
            }
        }
        if parts.is_empty() {
            return Err(format!("{given} is the workspace itself, not a file"));
        }
        Ok(parts.join("/"))
    }

    /// Reads a workspace file for display, refusing anything that resolves outside the root
    /// (a symlink pointing out, say).
    fn read_workspace_file(&self, relative: &str) -> Result<Vec<u8>, String> {
        let absolute = self.root.join(relative);
        let resolved = absolute.canonicalize().map_err(|error| format!("{relative}: {error}"))?;
        if !resolved.starts_with(&self.root) {
            return Err(format!("refused: {relative} resolves outside the workspace"));
        }
        std::fs::read(&resolved).map_err(|error| format!("{relative}: {error}"))
    }
}

/// The handler: one instance per connection (stdio has one).
#[derive(Clone)]
struct Zenith {
    state: Arc<State>,
    tool_router: ToolRouter<Self>,
}

/// `search_symbols` arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchSymbolsArgs {
    /// The name or part of it: exact, prefix, camelCase/snake_case initials (`ibfo` finds
    /// `initBookForOfficial`), substring or subsequence. Case-sensitive only if it has a capital.
    query: String,
    /// Only symbols of this kind: function, method, class, struct, enum, trait, interface,
    /// type_alias, module, constant, …
    kind: Option<String>,
    /// Only symbols of this language: rust, python, typescript, javascript, go, java, c, cpp, …
    language: Option<String>,
    /// Only symbols under this workspace-relative path prefix (e.g. `src/store`).
    path: Option<String>,
    /// At most this many results (default 20, at most 100).
    limit: Option<u32>,
    /// workspace (default), deps (the public API of the dependencies, at the exact versions in
    /// the lock files) or all. A query `serde::Deserializer` looks in `serde` only.
    scope: Option<deps::ToolScope>,
    /// Only this dependency (e.g. `serde`, `tokio`, `requests`); implies scope deps.
    package: Option<String>,
}

/// How `search_code` ranks.
#[derive(Debug, Clone, Copy, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// Meaning and words fused (the default).
    Hybrid,
    /// Meaning only (embeddings).
    Semantic,
    /// Words only (BM25 over names, split identifiers, signatures and docs).
    Fulltext,
}

/// `search_code` arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchCodeArgs {
    /// What the code does, in words (e.g. "retry a failed upload with backoff").
    query: String,
    /// hybrid (default), semantic or fulltext.
    mode: Option<Mode>,
    /// Only symbols of this kind (function, method, class, struct, …).
    kind: Option<String>,
    /// Only symbols of this language.
    language: Option<String>,
    /// Only symbols under this workspace-relative path prefix.
    path: Option<String>,
    /// At most this many results (default 10, at most 50).
    limit: Option<u32>,
    /// workspace (default), deps (the dependencies' public API, at the lock files' versions) or all.
    scope: Option<deps::ToolScope>,
    /// Only this dependency (e.g. `reqwest`); implies scope deps.
    package: Option<String>,
}

/// `get_symbol` arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetSymbolArgs {
    /// The symbol: its id from a search result (`#3f9a0c12b4de`, at least 8 hex digits), its
    /// `path:line`, or its exact qualified name.
    symbol: String,
    /// Include at most this many source lines (default 60, at most 400; 0 for none).
    max_lines: Option<u32>,
}

/// `file_outline` arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileOutlineArgs {
    /// A workspace-relative path (or an absolute path inside the workspace).
    path: String,
}

fn text(answer: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(answer)])
}

fn refusal(reason: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(reason.into())])
}

/// Turns the tool's outcome into its result: `Err` is a one-line `isError` answer.
fn answer(outcome: Result<String, String>) -> Result<CallToolResult, ErrorData> {
    Ok(match outcome {
        Ok(answer) => text(answer),
        Err(reason) => refusal(reason),
    })
}

/// Kinds and languages are lower-case in the table; agents capitalise freely.
fn filters(kind: Option<String>, language: Option<String>, path_prefix: Option<String>) -> Filters {
    let lower = |value: Option<String>| value.map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
    Filters { kind: lower(kind), language: lower(language), path_prefix, visibility: None }
}

fn check_query(query: &str) -> Result<&str, String> {
    let query = query.trim();
    if query.is_empty() {
        return Err("query is empty".to_string());
    }
    let length = query.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(format!("query is too long ({length} characters; at most {MAX_QUERY_CHARS})"));
    }
    Ok(query)
}

/// Runs blocking read work (DuckDB, the name index, the model) off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|error| format!("internal error: {error}"))?
}

#[tool_router]
impl Zenith {
    #[tool(description = "Find symbols (functions, types, methods, constants…) by name in the workspace, ranked \
                       like an editor's go-to-symbol: exact, prefix, camelCase/snake_case initials, substring. \
                       Answers `path:line kind qualified.name #id`, the signature and the doc's first line. \
                       Use get_symbol with the #id for the full symbol and its source.")]
    async fn search_symbols(
        &self,
        Parameters(args): Parameters<SearchSymbolsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.search_symbols_inner(args).await)
    }

    #[tool(description = "Search the workspace's code by meaning: describe what the code does (\"parse a config \
                       file and merge defaults\") and get the best-matching functions, types and methods with \
                       `path:line`, signature and the doc's first line. mode: hybrid (default: meaning and words), \
                       semantic, or fulltext (words only).")]
    async fn search_code(&self, Parameters(args): Parameters<SearchCodeArgs>) -> Result<CallToolResult, ErrorData> {
        answer(self.search_code_inner(args).await)
    }

    #[tool(description = "One symbol in full: signature, whole doc comment, location, parent, children, and its \
                       source lines read from the workspace (bounded; says so when the file changed since it \
                       was indexed). symbol: an #id from a search result, `path:line`, or a qualified name.")]
    async fn get_symbol(&self, Parameters(args): Parameters<GetSymbolArgs>) -> Result<CallToolResult, ErrorData> {
        answer(self.get_symbol_inner(args).await)
    }

    #[tool(description = "The outline of one file: its symbols in source order, nested, with line numbers and \
                          signatures. path: workspace-relative (e.g. `src/main.rs`).")]
    async fn file_outline(&self, Parameters(args): Parameters<FileOutlineArgs>) -> Result<CallToolResult, ErrorData> {
        answer(self.file_outline_inner(args).await)
    }

    #[tool(description = "What the index holds and how fresh it is: files, symbols, share embedded, the table \
                          version, when it last changed, and whether this server writes the index or follows \
                          another Zenith process (an editor's language server) that does.")]
    async fn index_status(&self) -> Result<CallToolResult, ErrorData> {
        answer(self.index_status_inner().await)
    }
}

impl Zenith {
    async fn search_symbols_inner(&self, args: SearchSymbolsArgs) -> Result<String, String> {
        let query = check_query(&args.query)?.to_string();
        let limit = args.limit.unwrap_or(20).clamp(1, 100) as usize;
        let scope = match (&args.package, args.scope) {
            (Some(_), None | Some(deps::ToolScope::Workspace)) => deps::ToolScope::Deps,
            (_, scope) => scope.unwrap_or_default(),
        };
        let mut out = String::new();
        if scope.workspace() {
            let prefix = args.path.as_deref().map(|p| self.state.workspace_path(p)).transpose()?;
            let filters = filters(args.kind.clone(), args.language.clone(), prefix);
            let (folder, snapshot) = self.state.ready_snapshot().await?;
            let dataset = folder.dataset.clone();
            let query = query.clone();
            out = blocking(move || {
                answer::symbols(&snapshot, &dataset, &query, &filters, limit).map_err(|e| format!("{e:#}"))
            })
            .await?;
        }
        let deps_scope =
            if scope.deps() { deps::scope(&self.state.root, scope, args.package.as_deref())? } else { None };
        if let Some(deps_scope) = deps_scope {
            let filters = filters(args.kind, args.language, None);
            let state = self.state.clone();
            let whole = args.package.is_none();
            let query_owned = query.clone();
            let hits = blocking(move || {
                let names = deps::names(&state.deps_names, &deps_scope, whole)?;
                deps::symbol_lines(&deps_scope, &names, &query_owned, &filters, limit)
            })
            .await?;
            let hits: Vec<crate::query::Hit> = hits.into_iter().map(|(_, hit)| hit).collect();
            if !out.is_empty() {
                out.push_str("\nin the dependencies: ");
            }
            out.push_str(&answer::hits(&query, &hits, &Filters::default(), None));
        }
        Ok(out)
    }

    async fn search_code_inner(&self, args: SearchCodeArgs) -> Result<String, String> {
        let query = check_query(&args.query)?.to_string();
        let limit = args.limit.unwrap_or(10).clamp(1, 50) as usize;
        let prefix = args.path.as_deref().map(|p| self.state.workspace_path(p)).transpose()?;
        let filters = filters(args.kind, args.language, prefix);
        let requested = args.mode.unwrap_or(Mode::Hybrid);
        let embedder = match requested {
            Mode::Fulltext => None,
            Mode::Hybrid | Mode::Semantic => self.state.embedder().await,
        };
        let (mode, note) = match (requested, &embedder) {
            (Mode::Fulltext, _) => (SearchMode::Fulltext, None),
            (Mode::Semantic, Some(_)) => (SearchMode::Semantic, None),
            (Mode::Hybrid, Some(_)) => (SearchMode::Hybrid, None),
            (Mode::Semantic, None) => {
                return Err("semantic search needs the embedding model, which is off or not installed here \
                            (run `znt setup`); use mode \"fulltext\""
                    .to_string());
            }
            (Mode::Hybrid, None) => {
                (SearchMode::Fulltext, Some("(words only: the embedding model is not installed; run `znt setup`)"))
            }
        };
        let scope = match (&args.package, args.scope) {
            (Some(_), None | Some(deps::ToolScope::Workspace)) => deps::ToolScope::Deps,
            (_, scope) => scope.unwrap_or_default(),
        };
        let deps_scope =
            if scope.deps() { deps::scope(&self.state.root, scope, args.package.as_deref())? } else { None };
        let workspace = if scope.workspace() {
            let (folder, snapshot) = self.state.ready_snapshot().await?;
            Some((folder.dataset.clone(), snapshot.version))
        } else {
            None
        };
        blocking(move || {
            let vector = match &embedder {
                Some(embedder) if mode != SearchMode::Fulltext => {
                    Some(embedder.embed_query(&query).map_err(|e| format!("embedding the query failed: {e}"))?)
                }
                _ => None,
            };
            let mut request = SearchRequest::new(mode, query.clone(), vector);
            request.limit = limit;
            request.filters = filters;
            let engine = Engine::shared().map_err(|e| e.to_string())?;
            let mut lists = Vec::new();
            if let Some((dataset, version)) = &workspace {
                lists.push(engine.search_at(dataset, *version, &request).map_err(|e| e.to_string())?);
            }
            if let Some(deps_scope) = &deps_scope {
                // A workspace path prefix means nothing inside a package.
                let mut deps_request = request.clone();
                deps_request.filters.path_prefix = None;
                lists.push(deps::search(deps_scope, &deps_request)?);
            }
            let hits = if lists.len() == 1 {
                lists.pop().unwrap_or_default()
            } else {
                crate::query::federated::fuse(lists, None, &Default::default(), limit)
            };
            Ok(answer::hits(&query, &hits, &request.filters, note))
        })
        .await
    }

    async fn get_symbol_inner(&self, args: GetSymbolArgs) -> Result<String, String> {
        let reference = args.symbol.trim().to_string();
        if reference.is_empty() {
            return Err("symbol is empty: give an #id from a search result, `path:line` or a qualified name".into());
        }
        if reference.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("symbol is too long (at most {MAX_QUERY_CHARS} characters)"));
        }
        let max_lines = args.max_lines.unwrap_or(60).min(400) as usize;
        // `path:line` names a file: check it is inside the workspace before anything is read.
        let located = match reference.rsplit_once(':') {
            Some((path, line)) if !path.is_empty() && line.parse::<u32>().is_ok() && !path.contains("::") => {
                Some((self.state.workspace_path(path)?, line.parse::<u32>().unwrap_or(1)))
            }
            _ => None,
        };
        let (folder, snapshot) = self.state.ready_snapshot().await?;
        let dataset = folder.dataset.clone();
        let state = self.state.clone();
        blocking(move || {
            let engine = Engine::shared().map_err(|e| e.to_string())?;
            let symbol = answer::resolve(&engine, &snapshot, &dataset, &reference, located)?;
            let siblings = engine.file_symbols(&dataset, snapshot.version, &symbol.path).map_err(|e| e.to_string())?;
            let source = if max_lines == 0 { None } else { Some(state.read_workspace_file(&symbol.path)) };
            Ok(answer::symbol(&symbol, &siblings, source, max_lines))
        })
        .await
    }

    async fn file_outline_inner(&self, args: FileOutlineArgs) -> Result<String, String> {
        let path = self.state.workspace_path(&args.path)?;
        let (folder, snapshot) = self.state.ready_snapshot().await?;
        let dataset = folder.dataset.clone();
        let root = self.state.root.clone();
        blocking(move || {
            let engine = Engine::shared().map_err(|e| e.to_string())?;
            let rows = engine.file_symbols(&dataset, snapshot.version, &path).map_err(|e| e.to_string())?;
            if rows.is_empty() {
                let exists = root.join(&path).is_file();
                return Err(if exists {
                    format!("{path} has no indexed symbols (unsupported language, ignored, or nothing declared)")
                } else {
                    format!("{path} is not a file of the workspace")
                });
            }
            Ok(answer::outline(&path, &rows))
        })
        .await
    }

    async fn index_status_inner(&self) -> Result<String, String> {
        let folder = self.state.folder().await.map_err(|error| format!("the index is unavailable: {error:#}"))?;
        let snapshot = folder.snapshot();
        let embedder = self.state.embedder.get().cloned().flatten().is_some();
        let dataset = folder.dataset.clone();
        let root = self.state.root.clone();
        // The same health every client shows (zenith/status, the editors' status bars).
        let health = snapshot.health(folder.embed_enabled, embedder);
        blocking(move || {
            let files = if snapshot.ready() {
                Engine::shared().and_then(|e| e.file_count(&dataset, snapshot.version)).ok()
            } else {
                None
            };
            Ok(answer::status(&root, &dataset, &snapshot, files, embedder, health))
        })
        .await
    }
}

impl ServerHandler for Zenith {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("zenith", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Zenith indexes this workspace's API symbols (names, signatures, docs, locations) and keeps \
                 the index fresh as files change. Use search_symbols when you know (part of) a name, \
                 search_code to find code by what it does, get_symbol for one symbol's full signature, doc \
                 and source, file_outline for a file's structure, index_status to check freshness.",
            )
    }

    /// Every failure a caller can cause is a one-line `isError` result, an unknown tool included
    /// (rmcp's router answers that with a protocol error the agent would not see).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tool_router.has_route(&request.name) {
            let known: Vec<String> =
                self.tool_router.list_all().into_iter().map(|tool| tool.name.to_string()).collect();
            return Ok(refusal(format!("unknown tool `{}`; the tools are {}", request.name, known.join(", "))).into());
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult { tools: self.tool_router.list_all(), ..Default::default() })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool_router.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(root: &Path) -> State {
        State {
            root: root.to_path_buf(),
            options: McpOptions {
                workspace: root.to_path_buf(),
                index_uri: String::new(),
                settings: crate::config::load(None).unwrap(),
            },
            folder: tokio::sync::OnceCell::new(),
            embedder: tokio::sync::OnceCell::new(),
            deps_names: Default::default(),
        }
    }

    #[test]
    fn paths_outside_the_workspace_are_refused() {
        let state = state(Path::new("/work/ws"));
        assert_eq!(state.workspace_path("src/a.rs").unwrap(), "src/a.rs");
        assert_eq!(state.workspace_path("./src/../src/a.rs").unwrap(), "src/a.rs");
        assert_eq!(state.workspace_path("/work/ws/src/a.rs").unwrap(), "src/a.rs");
        for outside in ["../other/a.rs", "/etc/passwd", "src/../../x", "/work/wsx/a.rs", ""] {
            assert!(state.workspace_path(outside).is_err(), "{outside:?} was accepted");
        }
    }

    #[test]
    fn queries_are_checked() {
        assert!(check_query("   ").is_err());
        assert!(check_query(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert_eq!(check_query("  parse ").unwrap(), "parse");
    }
}
