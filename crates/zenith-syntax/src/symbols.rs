//! The symbol record: what one API symbol of a source file looks like once extracted.
//!
//! This module owns the plain data type [`Symbol`] and the pure helpers that derive its
//! stable keys (`id`, `text_hash`, `search_text`). It must not know Arrow, Lance, DuckDB or
//! the LSP: `store` turns symbols into Arrow batches, `lsp` turns them into protocol types.
//! Every column is documented in `docs/schema.md`; keep the two in step.

use serde::{Deserialize, Serialize};

/// Dimension of the embedding column. all-MiniLM-L6-v2 produces 384-d vectors.
pub const EMBEDDING_DIM: usize = 384;

/// One API symbol (function, type, method, …) found in a source file.
///
/// Positions are zero-based. `*_col` are UTF-8 byte offsets within the line (what tree-sitter
/// reports); `*_col_utf16` are the same positions in UTF-16 code units, which is what LSP
/// clients expect unless they negotiate UTF-8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Symbol {
    /// Stable key: a hash of path, qualified name, kind and ordinal (see [`symbol_id`]).
    pub id: String,
    /// Workspace-relative path with `/` separators.
    pub path: String,
    pub language: String,
    pub kind: String,
    pub name: String,
    pub qualified_name: String,
    /// Qualified name of the enclosing symbol, if any.
    pub parent: Option<String>,
    /// Declaration head without the body, whitespace-normalized.
    pub signature: String,
    pub doc: Option<String>,
    pub visibility: String,
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub start_col_utf16: u32,
    pub end_col_utf16: u32,
    /// True when the file had syntax errors: the symbol comes from an error-free part of it.
    pub partial: bool,
    /// Content hash of the whole file this symbol came from (reconcile key).
    pub file_hash: String,
    /// Hash of the text that is embedded for this symbol (embedding cache key).
    pub text_hash: String,
    /// The text indexed for full-text search: name, split words, qualified name, signature, doc.
    pub search_text: String,
    /// When this row was written, microseconds since the Unix epoch (UTC).
    pub indexed_at: i64,
    /// 384-d unit vector, `None` until embedded.
    pub embedding: Option<Vec<f32>>,
}

/// The stable id of a symbol: the same declaration keeps the same id across re-indexing.
///
/// The ordinal disambiguates overloads (same path, qualified name and kind).
pub fn symbol_id(path: &str, qualified_name: &str, kind: &str, ordinal: u32) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [path, qualified_name, kind] {
        hasher.update(part.as_bytes());
        // A separator that cannot occur in any part keeps ("a","bc") and ("ab","c") apart.
        hasher.update(&[0]);
    }
    hasher.update(&ordinal.to_le_bytes());
    hasher.finalize().to_hex()[..32].to_string()
}

/// Hex content hash used for files and embedded texts.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Splits an identifier into lower-case words: `parseConfigFile` → `parse config file`,
/// `HTTPServer_v2` → `http server v2`. Used for full-text search and embedding texts, so that
/// natural-language queries match code identifiers.
pub fn split_identifier(identifier: &str) -> String {
    let mut words = String::with_capacity(identifier.len() + 4);
    push_split_identifier(&mut words, identifier);
    words
}

/// [`split_identifier`] appended to `out` (no intermediate string: this runs for every symbol).
fn push_split_identifier(out: &mut String, identifier: &str) {
    let base = out.len();
    // `in_word`: the output's last word is still open (no separator written after it).
    let mut in_word = false;
    let mut chars = identifier.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(ch) = chars.next() {
        if !ch.is_alphanumeric() {
            in_word = false;
            previous = Some(ch);
            continue;
        }
        let boundary = match previous {
            Some(prev) if prev.is_alphanumeric() => {
                // fooBar | foo2Bar | HTTPServer (the S of Server starts a word)
                (ch.is_uppercase() && (prev.is_lowercase() || prev.is_numeric()))
                    || (ch.is_uppercase() && prev.is_uppercase() && chars.peek().is_some_and(|n| n.is_lowercase()))
            }
            _ => false,
        };
        if (boundary || !in_word) && out.len() > base {
            out.push(' ');
        }
        in_word = true;
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
        } else {
            out.extend(ch.to_lowercase());
        }
        previous = Some(ch);
    }
}

/// Builds the full-text search document of a symbol from its parts.
pub fn search_text(name: &str, qualified_name: &str, signature: &str, doc: Option<&str>) -> String {
    let doc_len = doc.map_or(0, |doc| doc.len() + 1);
    let mut text = String::with_capacity(2 * name.len() + qualified_name.len() + signature.len() + doc_len + 8);
    text.push_str(name);
    text.push(' ');
    push_split_identifier(&mut text, name);
    text.push(' ');
    text.push_str(qualified_name);
    text.push(' ');
    text.push_str(signature);
    if let Some(doc) = doc {
        text.push(' ');
        text.push_str(doc);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Extraction: tree → symbols. Pure: the same parsed file always yields the same symbols.
// ---------------------------------------------------------------------------------------------

mod lang;

use std::collections::HashMap;
use std::sync::OnceLock;

use tree_sitter::{Node, Query, QueryCursor, StreamingIterator};

use crate::parse::{Language, ParsedFile};

/// Longest signature kept (characters); longer heads are cut with an ellipsis.
const MAX_SIGNATURE_CHARS: usize = 400;
/// Longest doc comment kept (characters).
const MAX_DOC_CHARS: usize = 4000;

/// Symbols of one file and whether the file had syntax errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub symbols: Vec<Symbol>,
    /// The file had syntax errors: the symbols come from its error-free parts.
    pub partial: bool,
}

struct CompiledQuery {
    query: Query,
    name: Option<u32>,
    package: Option<u32>,
    receiver: Option<u32>,
    scope: Option<u32>,
    container: Option<u32>,
    /// Capture index → symbol kind, for the `definition.<kind>` captures.
    definitions: HashMap<u32, &'static str>,
    /// Node kinds of functions, whose `body` holds only local declarations.
    function_kinds: Vec<u16>,
    /// Node kinds of literal data tables, skipped when large (see [`table_kinds`]).
    table_kinds: Vec<u16>,
    /// Node kinds the simple walk does not enter (see [`leaf_kinds`]).
    leaf_kinds: Vec<u16>,
    /// Set when every pattern is simple: then no query runs (see [`SimplePattern`]).
    simple: Option<rustc_hash::FxHashMap<u16, Vec<SimplePattern>>>,
    body_field: Option<std::num::NonZeroU16>,
}

/// Function-like node kinds per language (each has a `body` field in its grammar). JavaScript
/// and TypeScript function *expressions* are left out: module wrappers
/// (`(function () { exports.f = … })()`) declare their API inside them.
fn function_kinds(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &["function_item"],
        Language::Python => &["function_definition"],
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            &["function_declaration", "generator_function_declaration", "method_definition"]
        }
        Language::Go => &["function_declaration", "method_declaration", "func_literal"],
        Language::Java => &["method_declaration", "constructor_declaration"],
        Language::C | Language::Cpp => &["function_definition"],
        Language::CSharp => &[
            "method_declaration",
            "constructor_declaration",
            "destructor_declaration",
            "operator_declaration",
            "conversion_operator_declaration",
            "local_function_statement",
        ],
        Language::Ruby => &["method", "singleton_method"],
        Language::Php => &["function_definition", "method_declaration"],
    }
}

/// At most this many function bodies are cut out of the query's range (the largest ones):
/// each gap is one query run from the root, so the count is bounded on files with thousands
/// of small functions.
const MAX_SKIPPED_BODIES: usize = 256;

/// Large function bodies and data tables (array and initializer literals, which hold no
/// declarations), in order: the ranges worth cutting out of the query's range. An iterative
/// walk that never enters a function, a table, or a node smaller than `min_len` bytes (which
/// cannot hold a range of that size).
fn skippable_ranges(compiled: &CompiledQuery, root: Node, min_len: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let kind = node.kind_id();
        let large = node.byte_range().len() >= min_len;
        let is_function = compiled.function_kinds.contains(&kind);
        let is_table = compiled.table_kinds.contains(&kind);
        if large && is_function {
            if let Some(body) = compiled.body_field.and_then(|field| node.child_by_field_id(field.get()))
                && body.byte_range().len() >= min_len
            {
                ranges.push(body.byte_range());
            }
        } else if large && is_table {
            ranges.push(node.byte_range());
        } else if large && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return ranges;
            }
        }
    }
}

/// Parents and previous siblings of the candidates, their ancestors and those ancestors'
/// children, from one walk that descends only into nodes containing another candidate.
fn candidate_family<'t>(root: Node<'t>, candidates: &[Candidate<'t>]) -> lang::Family<'t> {
    let mut starts: Vec<usize> = candidates.iter().map(|c| c.node.start_byte()).collect();
    starts.sort_unstable();
    let ids: rustc_hash::FxHashSet<usize> = candidates.iter().map(|c| c.node.id()).collect();
    let mut family = lang::Family::with_capacity(candidates.len() * 4);
    let mut cursor = root.walk();
    let mut levels = Levels::default();
    loop {
        let node = cursor.node();
        levels.visit(node);
        let range = node.byte_range();
        let first = starts.partition_point(|&s| s < range.start);
        let inside = starts[first..].partition_point(|&s| s < range.end);
        let holds_another = inside > usize::from(ids.contains(&node.id()));
        if holds_another && cursor.goto_first_child() {
            levels.open(node, true);
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return family;
            }
            levels.close(&mut family);
        }
    }
}

/// The open levels of a tree walk, each with the children visited so far; a level's children
/// are recorded in the [`lang::Family`] when it closes, if it holds a candidate.
#[derive(Default)]
struct Levels<'t> {
    open: Vec<(Node<'t>, Vec<Node<'t>>, bool)>,
    /// Emptied child lists, reused.
    spare: Vec<Vec<Node<'t>>>,
}

impl<'t> Levels<'t> {
    fn visit(&mut self, node: Node<'t>) {
        if let Some((_, children, _)) = self.open.last_mut() {
            children.push(node);
        }
    }

    fn open(&mut self, node: Node<'t>, holds_candidate: bool) {
        let children = self.spare.pop().unwrap_or_default();
        self.open.push((node, children, holds_candidate));
    }

    fn parent(&self) -> Option<Node<'t>> {
        self.open.last().map(|(node, _, _)| *node)
    }

    /// The node being visited is a candidate: every open level holds one.
    fn mark_candidate(&mut self) {
        for (_, _, holds) in self.open.iter_mut().rev() {
            if *holds {
                break;
            }
            *holds = true;
        }
    }

    fn close(&mut self, family: &mut lang::Family<'t>) {
        if let Some((parent, mut children, holds)) = self.open.pop() {
            if holds {
                family.record_children(parent, &children);
            }
            children.clear();
            self.spare.push(children);
        }
    }
}

/// True when `node` lies in the body of a function: a local declaration, not API.
fn in_function_body(compiled: &CompiledQuery, family: &lang::Family, node: Node) -> bool {
    let Some(body_field) = compiled.body_field else {
        return false;
    };
    let mut child = node;
    while let Some(parent) = family.parent(child) {
        if compiled.function_kinds.contains(&parent.kind_id())
            && parent.child_by_field_id(body_field.get()).is_some_and(|body| body.id() == child.id())
        {
            return true;
        }
        child = parent;
    }
    false
}

/// Node kinds that hold no declarations of the language's simple patterns below them, so the
/// simple walk does not enter them (imports, attributes, signatures without bodies, macro
/// definitions and calls — whose bodies are token trees — and comments).
fn leaf_kinds(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &[
            "use_declaration",
            "extern_crate_declaration",
            "attribute_item",
            "inner_attribute_item",
            "macro_definition",
            "macro_invocation",
            "function_signature_item",
            "type_item",
            "associated_type",
            "field_declaration",
            "line_comment",
            "block_comment",
            "visibility_modifier",
        ],
        _ => &[],
    }
}

/// Node kinds of literal data (lookup tables, generated constants): no declarations inside.
fn table_kinds(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &["array_expression"],
        Language::C | Language::Cpp => &["initializer_list"],
        _ => &[],
    }
}

fn query_source(language: Language) -> &'static str {
    match language {
        Language::Rust => include_str!("symbols/queries/rust.scm"),
        Language::Python => include_str!("symbols/queries/python.scm"),
        Language::JavaScript => {
            concat!(include_str!("symbols/queries/javascript.scm"), include_str!("symbols/queries/ecmascript.scm"))
        }
        Language::TypeScript | Language::Tsx => {
            concat!(include_str!("symbols/queries/typescript.scm"), include_str!("symbols/queries/ecmascript.scm"))
        }
        Language::Go => include_str!("symbols/queries/go.scm"),
        Language::Java => include_str!("symbols/queries/java.scm"),
        Language::C => include_str!("symbols/queries/c.scm"),
        Language::Cpp => include_str!("symbols/queries/cpp.scm"),
        Language::CSharp => include_str!("symbols/queries/csharp.scm"),
        Language::Ruby => include_str!("symbols/queries/ruby.scm"),
        Language::Php => include_str!("symbols/queries/php.scm"),
    }
}

const KINDS: [&str; 18] = [
    "module",
    "namespace",
    "class",
    "struct",
    "enum",
    "enum_member",
    "interface",
    "trait",
    "type_alias",
    "function",
    "method",
    "constructor",
    "field",
    "property",
    "constant",
    "static",
    "variable",
    "macro",
];

fn compiled_query(language: Language) -> &'static CompiledQuery {
    static CACHE: OnceLock<HashMap<Language, CompiledQuery>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        Language::ALL
            .iter()
            .map(|&language| {
                let query = Query::new(&language.grammar(), query_source(language))
                    .unwrap_or_else(|error| panic!("the {} query is invalid: {error}", language.name()));
                let mut definitions = HashMap::new();
                for (index, capture) in query.capture_names().iter().enumerate() {
                    if let Some(kind) = capture.strip_prefix("definition.") {
                        let kind = KINDS
                            .iter()
                            .find(|k| **k == kind)
                            .unwrap_or_else(|| panic!("unknown kind {kind} in the {} query", language.name()));
                        definitions.insert(index as u32, *kind);
                    }
                }
                let grammar = language.grammar();
                let compiled = CompiledQuery {
                    function_kinds: function_kinds(language)
                        .iter()
                        .map(|kind| grammar.id_for_node_kind(kind, true))
                        .filter(|id| *id != 0)
                        .collect(),
                    table_kinds: table_kinds(language)
                        .iter()
                        .map(|kind| grammar.id_for_node_kind(kind, true))
                        .filter(|id| *id != 0)
                        .collect(),
                    body_field: grammar.field_id_for_name("body"),
                    simple: simple_patterns(language, query_source(language)),
                    leaf_kinds: leaf_kinds(language).iter().flat_map(|kind| kind_ids(&grammar, kind)).collect(),
                    name: query.capture_index_for_name("name"),
                    package: query.capture_index_for_name("package"),
                    receiver: query.capture_index_for_name("receiver"),
                    scope: query.capture_index_for_name("scope"),
                    container: query.capture_index_for_name("container"),
                    definitions,
                    query,
                };
                (language, compiled)
            })
            .collect()
    });
    &cache[&language]
}

/// A definition found by the query, before names are qualified.
struct Candidate<'tree> {
    node: Node<'tree>,
    kind: &'static str,
    name: String,
    /// Extra scope written in the declaration itself (`impl Foo`, `func (r *Recv)`, `Foo::bar`).
    scope: Option<String>,
    /// Only names a scope (Rust `impl` blocks); not emitted as a symbol.
    container_only: bool,
    pattern: usize,
}

/// A definition pattern simple enough to be matched by node kind during a walk instead of by
/// the query cursor (which visits every node with a costlier state machine):
/// `(kind field: (child) @name) @definition.k` or `… @container`, optionally inside
/// `(parent …)`. A language whose patterns are all of this shape is extracted by one walk that
/// never enters function bodies or data tables.
struct SimplePattern {
    parents: Option<Vec<u16>>,
    field: u16,
    /// Allowed kinds of the named child; `None` for `(_)` (any named node).
    children: Option<Vec<u16>>,
    /// The symbol kind; `None` for a container.
    kind: Option<&'static str>,
    pattern: usize,
}

/// Every named node-kind id with this name (aliases share a name).
fn kind_ids(grammar: &tree_sitter::Language, name: &str) -> Vec<u16> {
    (0..grammar.node_kind_count() as u16)
        .filter(|&id| grammar.node_kind_is_named(id) && grammar.node_kind_for_id(id) == Some(name))
        .collect()
}

/// The language's patterns by node kind, when every one of them is simple (one per line).
fn simple_patterns(language: Language, source: &str) -> Option<rustc_hash::FxHashMap<u16, Vec<SimplePattern>>> {
    let grammar = language.grammar();
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let ids = |name: &str| Some(kind_ids(&grammar, name)).filter(|ids| !ids.is_empty());
    let mut table: rustc_hash::FxHashMap<u16, Vec<SimplePattern>> = Default::default();
    let lines = source.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with(';'));
    for (pattern, line) in lines.enumerate() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (parent, rest) = match tokens.len() {
            5 => (None, &tokens[..]),
            6 => (Some(tokens[0].strip_prefix('(')?), &tokens[1..]),
            _ => return None,
        };
        let kind = rest[0].strip_prefix('(')?;
        let field = rest[1].strip_suffix(':')?;
        let child = rest[2].strip_prefix('(')?.strip_suffix(')')?;
        let capture = if parent.is_some() { rest[4].strip_suffix(')')? } else { rest[4] };
        if rest[3] != "@name)" || ![kind, field, child].into_iter().chain(parent).all(word) {
            return None;
        }
        let symbol_kind = match capture.strip_prefix('@')? {
            "container" => None,
            other => Some(*KINDS.iter().find(|k| Some(**k) == other.strip_prefix("definition."))?),
        };
        let parents = match parent {
            Some(parent) => Some(ids(parent)?),
            None => None,
        };
        let children = if child == "_" { None } else { Some(ids(child)?) };
        let field = grammar.field_id_for_name(field)?.get();
        for id in ids(kind)? {
            table.entry(id).or_default().push(SimplePattern {
                parents: parents.clone(),
                field,
                children: children.clone(),
                kind: symbol_kind,
                pattern,
            });
        }
    }
    Some(table)
}

/// The candidates of a language whose patterns are all simple: one walk, entering neither
/// function bodies (local declarations) nor data tables.
fn walk_simple<'t>(
    compiled: &CompiledQuery,
    table: &rustc_hash::FxHashMap<u16, Vec<SimplePattern>>,
    root: Node<'t>,
    language: Language,
    source: &str,
    candidates: &mut Vec<Candidate<'t>>,
    family: &mut lang::Family<'t>,
) {
    let mut cursor = root.walk();
    // The levels with a candidate below them are recorded in the family as the walk leaves
    // them, so no second walk is needed for the candidates' families (sibling steps are not
    // cheap: long sibling lists are balanced trees of hidden nodes inside tree-sitter).
    let mut levels = Levels::default();
    loop {
        let node = cursor.node();
        let kind = node.kind_id();
        levels.visit(node);
        let found_before = candidates.len();
        for pattern in table.get(&kind).map(Vec::as_slice).unwrap_or_default() {
            if let Some(allowed) = &pattern.parents
                && !levels.parent().is_some_and(|parent| allowed.contains(&parent.kind_id()))
            {
                continue;
            }
            let Some(child) = node.child_by_field_id(pattern.field) else {
                continue;
            };
            let child_fits = match &pattern.children {
                Some(allowed) => allowed.contains(&child.kind_id()),
                None => child.is_named(),
            };
            if !child_fits {
                continue;
            }
            let captured = Captured {
                definition: pattern.kind.map(|symbol_kind| (node, symbol_kind)),
                name_node: Some(child),
                receiver: None,
                written_scope: None,
                container: pattern.kind.is_none().then_some(node),
            };
            add_candidate(candidates, language, source, captured, pattern.pattern);
        }
        let is_candidate = candidates.len() > found_before;
        if is_candidate {
            levels.mark_candidate();
        }
        let opaque = compiled.function_kinds.contains(&kind)
            || compiled.table_kinds.contains(&kind)
            || compiled.leaf_kinds.contains(&kind);
        if !opaque && cursor.goto_first_child() {
            levels.open(node, false);
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
            levels.close(family);
        }
    }
}

/// What one match of a definition pattern captured.
struct Captured<'t> {
    definition: Option<(Node<'t>, &'static str)>,
    name_node: Option<Node<'t>>,
    receiver: Option<Node<'t>>,
    written_scope: Option<String>,
    container: Option<Node<'t>>,
}

/// Turns one match into a candidate (or nothing, for unusable names and damaged nodes).
fn add_candidate<'t>(
    candidates: &mut Vec<Candidate<'t>>,
    language: Language,
    source: &str,
    captured: Captured<'t>,
    pattern: usize,
) {
    let Captured { definition, name_node, receiver, written_scope, container } = captured;
    if let (Some(node), Some(name)) = (container, name_node) {
        candidates.push(Candidate {
            node,
            kind: "impl",
            name: lang::type_name(name, source),
            scope: None,
            container_only: true,
            pattern,
        });
        return;
    }
    let Some((node, kind)) = definition else {
        return;
    };
    if node.is_error() || node.is_missing() {
        return;
    }
    let resolved = match name_node {
        Some(name) => Some((lang::clean_name(language, text(name, source)), None)),
        None => lang::declarator_name(node, source),
    };
    let Some((name, mut scope)) = resolved else {
        return;
    };
    if name.is_empty() || !lang::keep(language, kind, node, &name, source) {
        return;
    }
    if let Some(receiver) = receiver {
        scope = lang::go_receiver_type(receiver, source);
    }
    if written_scope.is_some() {
        scope = written_scope;
    }
    candidates.push(Candidate { node, kind, name, scope, container_only: false, pattern });
}

/// Extracts the API symbols of a parsed file. Never panics on broken code: syntax errors only
/// lose the declarations they damage, and the result is marked partial.
pub fn extract_symbols(path: &str, parsed: &ParsedFile, file_hash: &str, indexed_at: i64) -> Extraction {
    extract(path, parsed, file_hash, indexed_at, true)
}

/// [`extract_symbols`], optionally without the simple walk (tests compare the two paths).
fn extract(path: &str, parsed: &ParsedFile, file_hash: &str, indexed_at: i64, allow_walk: bool) -> Extraction {
    let language = parsed.language;
    let source: &str = &parsed.text;
    let compiled = compiled_query(language);
    let simple = compiled.simple.as_ref().filter(|_| allow_walk);
    let root = parsed.tree.root_node();
    let mut cursor = QueryCursor::new();
    // Bounds the work on pathological inputs; a match limit only drops matches, never panics.
    cursor.set_match_limit(4096);
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut package: Option<String> = None;
    // Declarations inside function bodies are local, not API; and bodies are most of a file's
    // nodes. The query runs over the gaps between the largest bodies only (the match cost is
    // per node visited), and candidates inside any body are dropped afterwards.
    // Each gap costs a query run from the root past every earlier top-level node, so only
    // ranges large enough to repay that are cut out.
    let worth_skipping = (4 * root.child_count()).max(256);
    // (A language matched by the simple walk runs no query: nothing to cut out.)
    let mut largest = if simple.is_some() { Vec::new() } else { skippable_ranges(compiled, root, worth_skipping) };
    largest.sort_by_key(|range| std::cmp::Reverse(range.len()));
    largest.truncate(MAX_SKIPPED_BODIES);
    largest.sort_by_key(|body| body.start);
    let mut gaps = Vec::with_capacity(largest.len() + 1);
    let mut from = 0;
    for body in largest.iter().chain(std::iter::once(&(source.len()..source.len()))) {
        if body.start > from {
            gaps.push(from..body.start);
        }
        from = from.max(body.end);
    }
    let mut walked_family = None;
    if let Some(table) = simple {
        let mut family = lang::Family::with_capacity(source.len() / 64);
        walk_simple(compiled, table, root, language, source, &mut candidates, &mut family);
        walked_family = Some(family);
        gaps.clear();
    }
    for gap in gaps {
        cursor.set_byte_range(gap);
        let mut matches = cursor.matches(&compiled.query, root, source.as_bytes());
        while let Some(found) = matches.next() {
            let mut definition: Option<(Node, &'static str)> = None;
            let mut name_node = None;
            let mut receiver = None;
            let mut written_scope = None;
            let mut container = None;
            for capture in found.captures {
                let index = capture.index;
                if Some(index) == compiled.name {
                    name_node = Some(capture.node);
                } else if Some(index) == compiled.package {
                    package = Some(text(capture.node, source).to_string());
                } else if Some(index) == compiled.receiver {
                    receiver = Some(capture.node);
                } else if Some(index) == compiled.scope {
                    written_scope = Some(text(capture.node, source).to_string());
                } else if Some(index) == compiled.container {
                    container = Some(capture.node);
                } else if let Some(kind) = compiled.definitions.get(&index) {
                    definition = Some((capture.node, kind));
                }
            }
            let captured = Captured { definition, name_node, receiver, written_scope, container };
            add_candidate(&mut candidates, language, source, captured, found.pattern_index);
        }
    }
    let family = walked_family.unwrap_or_else(|| candidate_family(root, &candidates));
    candidates.retain(|candidate| !in_function_body(compiled, &family, candidate.node));
    // One symbol per (declaration, name): the earliest pattern wins (patterns go from specific
    // to general, e.g. a Go struct before a generic type alias).
    candidates.sort_by_key(|c| (c.node.start_byte(), std::cmp::Reverse(c.node.end_byte()), c.node.id(), c.pattern));
    candidates.dedup_by(|later, earlier| later.node.id() == earlier.node.id() && later.name == earlier.name);

    let index_by_node: rustc_hash::FxHashMap<usize, usize> =
        candidates.iter().enumerate().map(|(index, c)| (c.node.id(), index)).collect();
    // Nearest enclosing candidate of each candidate, found by walking parents (iteratively).
    let parents: Vec<Option<usize>> = candidates
        .iter()
        .map(|candidate| {
            let mut node = family.parent(candidate.node);
            while let Some(current) = node {
                if let Some(&index) = index_by_node.get(&current.id()) {
                    // `typedef struct s {…} s_t;` declares two names side by side: the struct
                    // is not a member of the typedef.
                    if !lang::is_transparent_container(language, candidates[index].kind) {
                        return Some(index);
                    }
                }
                node = family.parent(current);
            }
            None
        })
        .collect();

    let package_prefix = package.or_else(|| lang::module_from_path(language, path));
    let mut qualified: Vec<String> = Vec::with_capacity(candidates.len());
    let mut kinds: Vec<&'static str> = Vec::with_capacity(candidates.len());
    let mut visibilities: Vec<&'static str> = Vec::with_capacity(candidates.len());
    let mut ordinals: rustc_hash::FxHashMap<(String, &'static str), u32> = Default::default();
    let mut symbols = Vec::new();
    let partial = parsed.has_errors();
    // Candidates are sorted by start, so a parent is always processed before its children.
    for (index, candidate) in candidates.iter().enumerate() {
        let parent = parents[index];
        let parent_kind = parent.map(|p| kinds[p]);
        let separator = lang::separator(language, parent_kind);
        let mut prefix = match parent {
            Some(parent) => qualified[parent].clone(),
            None => package_prefix.clone().unwrap_or_default(),
        };
        if let Some(scope) = &candidate.scope {
            if !prefix.is_empty() {
                prefix.push_str(separator);
            }
            prefix.push_str(scope);
        }
        let qualified_name =
            if prefix.is_empty() { candidate.name.clone() } else { format!("{prefix}{separator}{}", candidate.name) };
        let parent_name = parent.map(|p| candidates[p].name.as_str());
        let kind = lang::refine_kind(
            language,
            candidate.kind,
            candidate.node,
            source,
            &candidate.name,
            parent_kind,
            parent_name,
            candidate.scope.as_deref(),
        );
        let parent_visibility = parent.map(|p| visibilities[p]);
        let visibility = lang::visibility(
            language,
            candidate.node,
            &family,
            &candidate.name,
            kind,
            parent_kind,
            parent_visibility,
            source,
        );
        qualified.push(qualified_name.clone());
        kinds.push(kind);
        visibilities.push(visibility);
        if candidate.container_only {
            continue;
        }
        let ordinal = ordinals.entry((qualified_name.clone(), kind)).or_insert(0);
        let id = symbol_id(path, &qualified_name, kind, *ordinal);
        *ordinal += 1;
        let signature = signature(language, candidate.node, &family, source);
        // Secrets are redacted before truncation, so a cut can never leave half a value behind.
        let doc = lang::doc_comment(language, candidate.node, &family, source)
            .map(|doc| truncate(without_secrets(doc), MAX_DOC_CHARS));
        let start = candidate.node.start_position();
        let end = candidate.node.end_position();
        let start_col_utf16 = utf16_column(source, candidate.node.start_byte(), start.column);
        let end_col_utf16 = utf16_column(source, candidate.node.end_byte(), end.column);
        symbols.push(Symbol {
            id,
            path: path.to_string(),
            language: language.name().to_string(),
            kind: kind.to_string(),
            search_text: search_text(&candidate.name, &qualified_name, &signature, doc.as_deref()),
            text_hash: String::new(),
            name: candidate.name.clone(),
            parent: parent.map(|p| qualified[p].clone()),
            qualified_name,
            signature,
            doc,
            visibility: visibility.to_string(),
            start_line: start.row as u32,
            start_col: start.column as u32,
            end_line: end.row as u32,
            end_col: end.column as u32,
            start_col_utf16,
            end_col_utf16,
            partial,
            file_hash: file_hash.to_string(),
            indexed_at,
            embedding: None,
        });
    }
    let module = path_module(language, path);
    for symbol in &mut symbols {
        symbol.text_hash = content_hash(embedding_text_in(symbol, module.as_ref()).as_bytes());
    }
    Extraction { symbols, partial }
}

/// The text embedded for a symbol: what it is, its name as words, its head and its doc.
/// Natural-language queries ("parse the config file") then meet identifiers
/// (`parseConfigFile`) half-way. The module implied by the file path is left out, so moving a
/// file does not change the text and its vectors are reused. Documented in docs/schema.md.
pub fn embedding_text(symbol: &Symbol) -> String {
    let module = Language::from_name(&symbol.language).and_then(|language| path_module(language, &symbol.path));
    embedding_text_in(symbol, module.as_ref())
}

/// The module a file's path implies, with the language's separator.
fn path_module(language: Language, path: &str) -> Option<(String, &'static str)> {
    lang::module_from_path(language, path).map(|module| (module, lang::separator(language, None)))
}

/// [`embedding_text`] with the path's module already derived (once per file, not per symbol).
fn embedding_text_in(symbol: &Symbol, module: Option<&(String, &'static str)>) -> String {
    let local_name = module
        .and_then(|(module, separator)| {
            symbol.qualified_name.strip_prefix(module.as_str()).and_then(|rest| rest.strip_prefix(separator))
        })
        .unwrap_or(&symbol.qualified_name);
    let doc_len = symbol.doc.as_ref().map_or(0, |doc| doc.len().min(2400) + 2);
    let mut text = String::with_capacity(symbol.kind.len() + local_name.len() + symbol.signature.len() + doc_len + 16);
    text.extend(symbol.kind.chars().map(|ch| if ch == '_' { ' ' } else { ch }));
    text.push(' ');
    push_split_identifier(&mut text, local_name);
    text.push_str(". ");
    text.push_str(&symbol.signature);
    if let Some(doc) = &symbol.doc {
        // The first paragraph carries the summary; the model sees at most ~256 word pieces.
        text.push_str(". ");
        text.extend(doc.split("\n\n").next().unwrap_or(doc).chars().take(600));
    }
    text
}

fn text<'a>(node: Node, source: &'a str) -> &'a str {
    source.get(node.byte_range()).unwrap_or("")
}

/// The declaration head: from the start of the node to the start of its body, whitespace
/// collapsed. Declarations without a body keep their whole text (cut at a sane length).
fn signature<'t>(language: Language, node: Node<'t>, family: &lang::Family<'t>, source: &str) -> String {
    let end = lang::body_start(language, node).unwrap_or(node.end_byte());
    let head = source.get(node.start_byte()..end.max(node.start_byte())).unwrap_or("");
    let head = match lang::declaration_keyword(language, node, family, source) {
        Some(keyword) => std::borrow::Cow::Owned(format!("{keyword} {head}")),
        None => std::borrow::Cow::Borrowed(head),
    };
    let mut collapsed = String::with_capacity(head.len().min(MAX_SIGNATURE_CHARS + 8));
    for word in head.split_whitespace() {
        if collapsed.len() > MAX_SIGNATURE_CHARS * 4 {
            break;
        }
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    let trimmed = collapsed.trim_end_matches(['{', ':', ';', ' ', '=']).trim_end();
    let trimmed = if language == Language::Python { trimmed.trim_end_matches(':') } else { trimmed };
    truncate(crate::redact::redact_secrets(trimmed).into_owned(), MAX_SIGNATURE_CHARS)
}

/// `text` with its secret values redacted (the same string when there are none).
fn without_secrets(text: String) -> String {
    match crate::redact::redact_secrets(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(redacted) => redacted,
    }
}

fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Converts a UTF-8 byte column into UTF-16 code units, using the text of the line.
fn utf16_column(source: &str, byte_offset: usize, byte_column: usize) -> u32 {
    let line_start = byte_offset.saturating_sub(byte_column);
    match source.get(line_start..byte_offset) {
        Some(prefix) => prefix.encode_utf16().count() as u32,
        None => byte_column as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_identifier_handles_camel_snake_and_acronyms() {
        assert_eq!(split_identifier("parseConfigFile"), "parse config file");
        assert_eq!(split_identifier("HTTPServer_v2"), "http server v2");
        assert_eq!(split_identifier("__init__"), "init");
        assert_eq!(split_identifier("ThreadPoolExecutor"), "thread pool executor");
    }

    #[test]
    fn symbol_id_is_stable_and_separates_parts() {
        let first = symbol_id("a.rs", "m::f", "function", 0);
        assert_eq!(first, symbol_id("a.rs", "m::f", "function", 0));
        assert_ne!(first, symbol_id("a.rs", "m::f", "function", 1));
        assert_ne!(symbol_id("a", "bc", "k", 0), symbol_id("ab", "c", "k", 0));
    }
    #[test]
    fn every_language_names_real_function_kinds_with_a_body_field() {
        for language in Language::ALL {
            let grammar = language.grammar();
            assert!(grammar.field_id_for_name("body").is_some(), "{}", language.name());
            for kind in function_kinds(language).iter().chain(table_kinds(language)).chain(leaf_kinds(language)) {
                assert_ne!(grammar.id_for_node_kind(kind, true), 0, "{} has no {kind}", language.name());
            }
        }
    }

    #[test]
    fn declarations_inside_function_bodies_are_local_and_skipped() {
        let source = "fn api() {\n    fn helper() {}\n    struct Local;\n}\npub struct Kept;\n";
        let parsed =
            crate::parse::parse(std::path::Path::new("src/lib.rs"), source.as_bytes(), &Default::default()).unwrap();
        let names: Vec<String> =
            extract_symbols("src/lib.rs", &parsed, "h", 0).symbols.into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["api", "Kept"]);
    }
    #[test]
    fn the_simple_walk_finds_exactly_what_the_query_finds() {
        assert!(compiled_query(Language::Rust).simple.is_some(), "every Rust pattern is simple");
        let sources = [
            include_str!("symbols.rs"),
            include_str!("symbols/lang.rs"),
            include_str!("parse.rs"),
            include_str!("symbols/fixture_tests.rs"),
            "mod a { pub struct S { pub f: u8, g: u16 } impl S { pub fn m(&self) {} } trait T { type X; fn n(); } }\n\
             union U { a: u32 } enum E { A, B(u8) } macro_rules! mac { () => {} } static Z: u8 = 0;\n\
             extern \"C\" { fn ffi(x: i32); } const _: () = { impl S { fn hidden() {} } };\n\
             fn broken( { struct Inner; }\n",
        ];
        for source in sources {
            let parsed =
                crate::parse::parse(std::path::Path::new("src/x.rs"), source.as_bytes(), &Default::default()).unwrap();
            let walked = extract("src/x.rs", &parsed, "h", 0, true);
            let queried = extract("src/x.rs", &parsed, "h", 0, false);
            assert!(!walked.symbols.is_empty());
            assert_eq!(walked, queried);
        }
    }
}

#[cfg(test)]
mod fixture_tests;
