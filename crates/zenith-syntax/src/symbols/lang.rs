//! Per-language rules of extraction: names hidden in declarators, kinds that depend on the
//! container, visibility, doc-comment conventions and where a declaration's body starts.
//! Pure functions over tree-sitter nodes; the queries that find declarations are the
//! `queries/*.scm` files beside this one.

use tree_sitter::Node;

use crate::parse::Language;

fn text<'a>(node: Node, source: &'a str) -> &'a str {
    source.get(node.byte_range()).unwrap_or("")
}

fn is_type_kind(kind: &str) -> bool {
    matches!(kind, "class" | "struct" | "interface" | "trait" | "enum" | "impl")
}

/// Separator between a container and a member in qualified names.
pub fn separator(language: Language, parent_kind: Option<&str>) -> &'static str {
    match language {
        Language::Rust | Language::Cpp | Language::Ruby => "::",
        // PHP: `App\Models\User::save` — namespaces join with `\`, members with `::`.
        Language::Php => {
            if matches!(parent_kind, None | Some("namespace")) {
                "\\"
            } else {
                "::"
            }
        }
        _ => ".",
    }
}

/// The name of an `impl` block's type without generics or references: `impl<T> Foo<T>` → `Foo`.
pub fn type_name(node: Node, source: &str) -> String {
    let mut current = node;
    loop {
        match current.kind() {
            "generic_type" | "reference_type" | "pointer_type" => match current.child_by_field_name("type") {
                Some(inner) => current = inner,
                None => break,
            },
            "scoped_type_identifier" => match current.child_by_field_name("name") {
                Some(inner) => current = inner,
                None => break,
            },
            _ => break,
        }
    }
    let name = text(current, source);
    name.split('<').next().unwrap_or(name).trim().to_string()
}

/// Normalizes a captured name: Ruby symbols lose their colon, quoted JS method names their quotes.
pub fn clean_name(language: Language, name: &str) -> String {
    let name = name.trim();
    match language {
        Language::Ruby => name.trim_start_matches(':').to_string(),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            name.trim_matches(|c| c == '"' || c == '\'' || c == '`').to_string()
        }
        _ => name.to_string(),
    }
}

/// Whether a candidate is kept. Python module-level assignments are constants only when the
/// name is ALL_CAPS; other assignments are variables, not API.
pub fn keep(language: Language, kind: &str, _node: Node, name: &str, _source: &str) -> bool {
    if language == Language::Python && kind == "constant" {
        return name.chars().any(|c| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    }
    true
}

/// The name of a C/C++ function from its declarator chain, and the scope written in it
/// (`void Foo::bar()` → (`bar`, `Foo`)). `None` when the chain holds no function declarator
/// (e.g. `int *p;`).
pub fn declarator_name(node: Node, source: &str) -> Option<(String, Option<String>)> {
    let mut current = node.child_by_field_name("declarator")?;
    let mut saw_function = false;
    for _ in 0..64 {
        match current.kind() {
            "function_declarator" => {
                saw_function = true;
                current = current.child_by_field_name("declarator")?;
            }
            "pointer_declarator" | "reference_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                current = current.child_by_field_name("declarator").or_else(|| current.named_child(0))?;
            }
            "qualified_identifier" => {
                if !saw_function {
                    return None;
                }
                let mut scopes = Vec::new();
                let mut qualified = current;
                while qualified.kind() == "qualified_identifier" {
                    if let Some(scope) = qualified.child_by_field_name("scope") {
                        scopes.push(text(scope, source).split('<').next().unwrap_or("").to_string());
                    }
                    qualified = qualified.child_by_field_name("name")?;
                }
                let name = text(qualified, source).to_string();
                let scope = scopes.join("::");
                return Some((name, (!scope.is_empty()).then_some(scope)));
            }
            "identifier" | "field_identifier" | "destructor_name" | "operator_name" | "template_function"
            | "type_identifier" => {
                if !saw_function {
                    return None;
                }
                let name = text(current, source);
                return Some((name.split('<').next().unwrap_or(name).trim().to_string(), None));
            }
            _ => return None,
        }
    }
    None
}

/// The receiver type of a Go method: `func (s *Server[T]) Run()` → `Server`.
pub fn go_receiver_type(receiver: Node, source: &str) -> Option<String> {
    let parameter = receiver.named_child(0)?;
    let mut kind_node = parameter.child_by_field_name("type")?;
    loop {
        match kind_node.kind() {
            "pointer_type" => kind_node = kind_node.named_child(0)?,
            "generic_type" => kind_node = kind_node.child_by_field_name("type")?,
            _ => break,
        }
    }
    Some(text(kind_node, source).to_string())
}

/// Module path implied by the file path, for languages whose files are modules.
/// Python: `pkg/sub/mod.py` → `pkg.sub.mod` (`__init__` dropped; a leading `src/` or `lib/`
/// root dropped). Rust: the part after the last `src/`, `lib.rs`/`main.rs`/`mod.rs` dropped.
pub fn module_from_path(language: Language, path: &str) -> Option<String> {
    match language {
        Language::Python => {
            let stem = path.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(path);
            let stem = ["src/", "lib/", "Lib/"].iter().find_map(|root| stem.strip_prefix(root)).unwrap_or(stem);
            let parts: Vec<&str> = stem.split('/').filter(|part| *part != "__init__" && !part.is_empty()).collect();
            (!parts.is_empty()).then(|| parts.join("."))
        }
        Language::Rust => {
            let after_src = path.rsplit_once("src/").map(|(_, rest)| rest)?;
            let stem = after_src.strip_suffix(".rs")?;
            let parts: Vec<&str> =
                stem.split('/').filter(|part| !matches!(*part, "lib" | "main" | "mod") && !part.is_empty()).collect();
            (!parts.is_empty()).then(|| parts.join("::"))
        }
        _ => None,
    }
}

/// Symbols whose node encloses others without being their container (C/C++ typedefs).
pub fn is_transparent_container(language: Language, kind: &str) -> bool {
    matches!(language, Language::C | Language::Cpp) && kind == "type_alias"
}

/// The keyword a declarator's head leaves out: `const` / `let` for JS/TS variables.
pub fn declaration_keyword<'a, 't>(
    language: Language,
    node: Node<'t>,
    family: &Family<'t>,
    source: &'a str,
) -> Option<&'a str> {
    match (language, node.kind()) {
        (Language::JavaScript | Language::TypeScript | Language::Tsx, "variable_declarator") => {
            let declaration = family.parent(node)?;
            let keyword = declaration.child(0)?;
            (!keyword.is_named()).then(|| text(keyword, source))
        }
        _ => None,
    }
}

/// Turns the query's kind into the final one, now that the container is known.
// Every argument is a distinct fact about one declaration; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
/// `parent_name` is the enclosing type's name (or the scope written in the declaration).
pub fn refine_kind(
    language: Language,
    kind: &'static str,
    node: Node,
    source: &str,
    name: &str,
    parent_kind: Option<&str>,
    parent_name: Option<&str>,
    scope: Option<&str>,
) -> &'static str {
    let has_scope = scope.is_some();
    // `Foo::Foo()` defined outside the class names its class in the scope.
    let owner = scope.and_then(|scope| scope.rsplit("::").next()).or(parent_name);
    let in_type = parent_kind.is_some_and(is_type_kind);
    let is_callable = matches!(kind, "function" | "method");
    if is_callable {
        let constructor = match language {
            Language::Python => name == "__init__",
            Language::JavaScript | Language::TypeScript | Language::Tsx => name == "constructor",
            Language::Ruby => name == "initialize",
            Language::Php => name == "__construct",
            Language::Cpp => owner.is_some_and(|owner| owner == name),
            _ => false,
        };
        if constructor && (in_type || (language == Language::Cpp && has_scope)) {
            return "constructor";
        }
    }
    if kind == "field" {
        // Java `static final` and C# `const` fields are constants.
        let words: Vec<&str> = match language {
            Language::Java => modifier_words(node, "modifiers", source),
            Language::CSharp => modifier_words(node, "modifier", source),
            _ => Vec::new(),
        };
        if (words.contains(&"static") && words.contains(&"final")) || words.contains(&"const") {
            return "constant";
        }
    }
    match (kind, language) {
        ("function", _) if in_type || has_scope => "method",
        ("method", Language::Ruby) if parent_kind.is_none() => "function",
        _ => kind,
    }
}

/// Normalized visibility: `public` (visible outside its package/module/crate), `internal`
/// (within its package, crate, assembly or module), `protected`, or `private`.
// Every argument is a distinct fact about one declaration; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn visibility<'t>(
    language: Language,
    node: Node<'t>,
    family: &Family<'t>,
    name: &str,
    kind: &str,
    parent_kind: Option<&str>,
    parent_visibility: Option<&str>,
    source: &str,
) -> &'static str {
    let inherited = parent_visibility.unwrap_or("public");
    if matches!(kind, "namespace") || (kind == "module" && language != Language::Rust) {
        return "public";
    }
    match language {
        Language::Rust => rust_visibility(node, family, kind, parent_kind, inherited, source),
        Language::Python => {
            if name.starts_with("__") && name.ends_with("__") {
                "public"
            } else if name.starts_with('_') || inherited == "private" {
                "private"
            } else {
                "public"
            }
        }
        Language::Go => {
            if name.chars().next().is_some_and(char::is_uppercase) {
                "public"
            } else {
                "internal"
            }
        }
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            js_visibility(node, family, name, parent_kind, source)
        }
        Language::Java => match modifier_words(node, "modifiers", source).as_slice() {
            words if words.contains(&"public") => "public",
            words if words.contains(&"protected") => "protected",
            words if words.contains(&"private") => "private",
            _ if matches!(parent_kind, Some("interface")) || kind == "enum_member" => "public",
            _ => "internal",
        },
        Language::CSharp => {
            let words = modifier_words(node, "modifier", source);
            if words.contains(&"public") {
                "public"
            } else if words.contains(&"protected") {
                "protected"
            } else if words.contains(&"private") {
                "private"
            } else if words.contains(&"internal") {
                "internal"
            } else if matches!(parent_kind, Some("interface")) || kind == "enum_member" {
                "public"
            } else if matches!(parent_kind, None | Some("namespace")) {
                "internal"
            } else {
                "private"
            }
        }
        Language::C => {
            if has_static(node, source) {
                "private"
            } else {
                "public"
            }
        }
        Language::Cpp => cpp_visibility(node, family, parent_kind, source),
        Language::Ruby => ruby_visibility(node, family, name, source),
        Language::Php => match modifier_words(node, "visibility_modifier", source).as_slice() {
            words if words.contains(&"private") => "private",
            words if words.contains(&"protected") => "protected",
            _ => "public",
        },
    }
}

/// Words of the children of `node` whose kind is `modifier_kind` (and of their children, for
/// Java's single `modifiers` node).
fn modifier_words<'a>(node: Node, modifier_kind: &str, source: &'a str) -> Vec<&'a str> {
    let mut words = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.kind() == modifier_kind {
            words.extend(text(child, source).split_whitespace());
        }
    }
    words
}

fn rust_visibility<'t>(
    node: Node<'t>,
    family: &Family<'t>,
    kind: &str,
    parent_kind: Option<&str>,
    inherited: &str,
    source: &str,
) -> &'static str {
    let mut cursor = node.walk();
    let modifier = node.children(&mut cursor).find(|child| child.kind() == "visibility_modifier");
    if let Some(modifier) = modifier {
        let text = text(modifier, source).replace(' ', "");
        return match text.as_str() {
            "pub" => "public",
            "pub(self)" => "private",
            _ => "internal",
        };
    }
    if kind == "macro" {
        let exported = preceding_attributes(node, family, source).iter().any(|a| a.contains("macro_export"));
        return if exported { "public" } else { "internal" };
    }
    match parent_kind {
        // Variants and trait items are as visible as their enum or trait; items of a trait
        // impl are as visible as the trait.
        Some("enum" | "trait" | "enum_member") => leak(inherited),
        Some("impl")
            if family
                .parent(node)
                .and_then(|p| family.parent(p))
                .is_some_and(|imp| imp.child_by_field_name("trait").is_some()) =>
        {
            "public"
        }
        _ => "private",
    }
}

fn leak(visibility: &str) -> &'static str {
    match visibility {
        "public" => "public",
        "internal" => "internal",
        "protected" => "protected",
        _ => "private",
    }
}

fn preceding_attributes<'t>(node: Node<'t>, family: &Family<'t>, source: &str) -> Vec<String> {
    let mut attributes = Vec::new();
    let mut sibling = family.prev_named_sibling(node);
    while let Some(current) = sibling {
        match current.kind() {
            "attribute_item" => attributes.push(text(current, source).to_string()),
            "line_comment" | "block_comment" => {}
            _ => break,
        }
        sibling = family.prev_named_sibling(current);
    }
    attributes
}

fn js_visibility<'t>(
    node: Node<'t>,
    family: &Family<'t>,
    name: &str,
    parent_kind: Option<&str>,
    source: &str,
) -> &'static str {
    if name.starts_with('#') {
        return "private";
    }
    let mut cursor = node.walk();
    if let Some(modifier) = node.children(&mut cursor).find(|c| c.kind() == "accessibility_modifier") {
        return match text(modifier, source) {
            "private" => "private",
            "protected" => "protected",
            _ => "public",
        };
    }
    if parent_kind.is_some() {
        return "public";
    }
    // `exports.f = …` and `C.prototype.m = …` are the API of CommonJS modules.
    if node.kind() == "assignment_expression" {
        return "public";
    }
    // Top level: exported declarations are public, the rest is module-internal.
    let mut ancestor = family.parent(node);
    for _ in 0..3 {
        match ancestor {
            Some(current) if current.kind() == "export_statement" => return "public",
            Some(current) => ancestor = family.parent(current),
            None => break,
        }
    }
    "internal"
}

fn has_static(node: Node, source: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|child| child.kind() == "storage_class_specifier" && text(child, source) == "static")
}

fn cpp_visibility<'t>(node: Node<'t>, family: &Family<'t>, parent_kind: Option<&str>, source: &str) -> &'static str {
    match parent_kind {
        Some("class" | "struct") => {
            // The nearest preceding `public:` / `private:` label in the member list.
            let mut sibling = family.prev_sibling(node);
            while let Some(current) = sibling {
                if current.kind() == "access_specifier" {
                    return match text(current, source).trim_end_matches(':').trim() {
                        "private" => "private",
                        "protected" => "protected",
                        _ => "public",
                    };
                }
                sibling = family.prev_sibling(current);
            }
            let class_key = family
                .parent(node)
                .and_then(|list| family.parent(list))
                .map(|owner| owner.kind())
                .unwrap_or("struct_specifier");
            if class_key == "class_specifier" { "private" } else { "public" }
        }
        _ => {
            let mut ancestor = family.parent(node);
            while let Some(current) = ancestor {
                if current.kind() == "namespace_definition" && current.child_by_field_name("name").is_none() {
                    return "private";
                }
                ancestor = family.parent(current);
            }
            if has_static(node, source) { "private" } else { "public" }
        }
    }
}

fn ruby_visibility<'t>(node: Node<'t>, family: &Family<'t>, name: &str, source: &str) -> &'static str {
    if node.kind() != "method" {
        return "public";
    }
    if name == "initialize" {
        return "private";
    }
    // A bare `private` / `protected` / `public` line switches the mode for later methods.
    let mut sibling = family.prev_named_sibling(node);
    while let Some(current) = sibling {
        if current.kind() == "identifier" {
            match text(current, source) {
                "private" => return "private",
                "protected" => return "protected",
                "public" => return "public",
                _ => {}
            }
        }
        sibling = family.prev_named_sibling(current);
    }
    "public"
}

/// Where the body starts (the signature ends there), if the declaration has one.
pub fn body_start(language: Language, node: Node) -> Option<usize> {
    if let Some(body) = node.child_by_field_name("body") {
        return Some(body.start_byte());
    }
    match (language, node.kind()) {
        (Language::JavaScript | Language::TypeScript | Language::Tsx, "variable_declarator") => {
            let value = node.child_by_field_name("value")?;
            value.child_by_field_name("body").map(|body| body.start_byte())
        }
        (Language::Go, "type_spec") => {
            let type_node = node.child_by_field_name("type")?;
            let keyword = match type_node.kind() {
                "struct_type" => "struct".len(),
                "interface_type" => "interface".len(),
                _ => return None,
            };
            Some(type_node.start_byte() + keyword)
        }
        (Language::CSharp, "property_declaration" | "event_declaration") => {
            node.child_by_field_name("accessors").map(|accessors| accessors.start_byte())
        }
        (Language::Ruby, "method" | "singleton_method") => {
            let end = node.child_by_field_name("parameters").or_else(|| node.child_by_field_name("name"))?;
            Some(end.end_byte())
        }
        _ => None,
    }
}

/// The node whose preceding comments document `node`: declarations wrapped by exports,
/// decorators, templates or multi-spec groups are documented above the wrapper.
fn doc_anchor<'t>(language: Language, node: Node<'t>, family: &Family<'t>) -> Node<'t> {
    let mut anchor = node;
    for _ in 0..4 {
        let Some(parent) = family.parent(anchor) else { break };
        let wraps = match language {
            Language::Python => parent.kind() == "decorated_definition",
            Language::JavaScript | Language::TypeScript | Language::Tsx => matches!(
                parent.kind(),
                "export_statement" | "lexical_declaration" | "variable_declaration" | "ambient_declaration"
            ),
            Language::Cpp => parent.kind() == "template_declaration",
            Language::Go => {
                matches!(parent.kind(), "type_declaration" | "const_declaration" | "var_declaration")
                    && parent.named_child_count() == 1
            }
            _ => false,
        };
        if !wraps {
            break;
        }
        anchor = parent;
    }
    anchor
}

/// The doc comment of a declaration, in the language's convention, cleaned of comment markers.
pub fn doc_comment<'t>(language: Language, node: Node<'t>, family: &Family<'t>, source: &str) -> Option<String> {
    if language == Language::Python
        && let Some(doc) = python_docstring(node, source)
    {
        return Some(doc);
    }
    let anchor = doc_anchor(language, node, family);
    let mut lines: Vec<String> = Vec::new();
    let mut top_row = anchor.start_position().row;
    let mut sibling = family.prev_sibling(anchor);
    while let Some(current) = sibling {
        let kind = current.kind();
        if matches!(kind, "attribute_item" | "decorator" | "attribute_list") {
            top_row = current.start_position().row;
            sibling = family.prev_sibling(current);
            continue;
        }
        if !kind.contains("comment") || current.end_position().row + 1 < top_row {
            break;
        }
        let raw = text(current, source);
        let accepted = match language {
            Language::Rust => {
                (raw.starts_with("///") && !raw.starts_with("////"))
                    || (raw.starts_with("/**") && !raw.starts_with("/***"))
            }
            Language::CSharp => raw.starts_with("///") || raw.starts_with("/**"),
            _ => true,
        };
        if !accepted {
            break;
        }
        lines.insert(0, clean_comment(raw, language));
        top_row = current.start_position().row;
        sibling = family.prev_sibling(current);
    }
    let doc = lines.join("\n").trim().to_string();
    (!doc.is_empty()).then_some(doc)
}

fn clean_comment(raw: &str, language: Language) -> String {
    let body = if raw.starts_with("/*") {
        let inner = raw.trim_start_matches("/**").trim_start_matches("/*").trim_end_matches("*/");
        inner
            .lines()
            .map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix('*').unwrap_or(line);
                line.strip_prefix(' ').unwrap_or(line).trim_end().to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        raw.lines()
            .map(|line| {
                let line = line.trim_start();
                let line =
                    ["///", "//!", "//", "#"].iter().find_map(|marker| line.strip_prefix(marker)).unwrap_or(line);
                line.strip_prefix(' ').unwrap_or(line).trim_end().to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    if language == Language::CSharp { strip_xml_tags(&body) } else { body }
}

/// `<summary>Adds <paramref name="x"/>.</summary>` → `Adds x.`: keeps text, drops tags, but
/// keeps the `name`/`cref` of self-closing references so the sentence still reads.
fn strip_xml_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            return out.trim().to_string();
        };
        let tag = &rest[open + 1..open + close];
        if tag.ends_with('/')
            && let Some(value) = tag.split('"').nth(1)
        {
            out.push_str(value);
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The docstring of a Python class or function: the first statement of its body, when it is a
/// string, cleaned like `inspect.cleandoc`.
fn python_docstring(node: Node, source: &str) -> Option<String> {
    let body = node.child_by_field_name("body")?;
    let first = body.named_child(0)?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = first.named_child(0)?;
    if string.kind() != "string" {
        return None;
    }
    let raw = text(string, source);
    let raw = raw.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let quote = ["\"\"\"", "'''", "\"", "'"].into_iter().find(|q| raw.starts_with(q))?;
    let inner = raw.strip_prefix(quote)?.strip_suffix(quote).unwrap_or(raw.strip_prefix(quote)?);
    let mut lines = inner.lines();
    let first_line = lines.next().unwrap_or("").trim().to_string();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut cleaned = vec![first_line];
    cleaned.extend(rest.iter().map(|line| line.get(indent..).unwrap_or("").trim_end().to_string()));
    let doc = cleaned.join("\n").trim().to_string();
    (!doc.is_empty()).then_some(doc)
}

/// Parents and previous siblings of the nodes outside function bodies, recorded by one walk.
/// tree-sitter finds a node's parent (and so its siblings) by searching down from the root
/// through every earlier sibling: quadratic on files with thousands of items. Nodes not
/// recorded fall back to tree-sitter.
///
/// Sibling lists are stored whole and contiguous, so a node's previous sibling is the entry
/// before it and the per-node index is one small hash entry (this runs for every node the
/// extraction walk visits).
#[derive(Default)]
pub struct Family<'t> {
    /// Recorded nodes, each parent's children contiguous and in order.
    nodes: Vec<Node<'t>>,
    /// Per recorded node: the list it belongs to.
    list_of: Vec<u32>,
    /// Per list: the parent and the position of its first child.
    lists: Vec<(Node<'t>, u32)>,
    /// Node id → position in `nodes`.
    positions: rustc_hash::FxHashMap<usize, u32>,
}

impl<'t> Family<'t> {
    pub fn with_capacity(capacity: usize) -> Family<'t> {
        Family {
            nodes: Vec::with_capacity(capacity),
            list_of: Vec::with_capacity(capacity),
            lists: Vec::new(),
            positions: rustc_hash::FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
        }
    }

    /// Records all the (visible) children of `parent`, in order.
    pub fn record_children(&mut self, parent: Node<'t>, children: &[Node<'t>]) {
        let (Ok(start), Ok(list)) = (u32::try_from(self.nodes.len()), u32::try_from(self.lists.len())) else {
            return;
        };
        self.lists.push((parent, start));
        for (offset, child) in children.iter().enumerate() {
            self.positions.insert(child.id(), start + offset as u32);
        }
        self.nodes.extend_from_slice(children);
        self.list_of.resize(self.nodes.len(), list);
    }

    fn position(&self, node: Node<'t>) -> Option<(usize, usize)> {
        let position = *self.positions.get(&node.id())? as usize;
        Some((position, self.lists[self.list_of[position] as usize].1 as usize))
    }

    pub fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        match self.positions.get(&node.id()) {
            Some(&position) => Some(self.lists[self.list_of[position as usize] as usize].0),
            None => node.parent(),
        }
    }

    pub fn prev_sibling(&self, node: Node<'t>) -> Option<Node<'t>> {
        match self.position(node) {
            Some((position, start)) => (position > start).then(|| self.nodes[position - 1]),
            None => node.prev_sibling(),
        }
    }

    pub fn prev_named_sibling(&self, node: Node<'t>) -> Option<Node<'t>> {
        match self.position(node) {
            Some((position, start)) => self.nodes[start..position].iter().rev().find(|n| n.is_named()).copied(),
            None => node.prev_named_sibling(),
        }
    }
}
