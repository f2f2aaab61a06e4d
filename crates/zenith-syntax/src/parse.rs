//! Bytes → syntax tree. Pure: no IO, no global state; never fails on broken code (tree-sitter
//! recovers and marks errors in the tree).
//!
//! This module owns language detection, the input guards (binary, size, invalid UTF-8, parse
//! deadline) and the tree-sitter parser set-up. It must not know what a symbol is (`symbols`)
//! or where the bytes came from (`watch`).

use std::path::Path;
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, Parser, Tree};

/// A language Zenith extracts symbols from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
}

impl Language {
    pub const ALL: [Language; 12] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
    ];

    /// The name stored in the `language` column.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
        }
    }

    /// The language stored under `name` in the `language` column.
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|language| language.name() == name)
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Language::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
        }
    }

    /// Detects the language from the file name, then (for extension-less scripts) the shebang.
    /// `.h` is C unless the text looks like C++.
    pub fn detect(path: &Path, text_start: &[u8]) -> Option<Language> {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let by_extension = match extension.as_deref() {
            Some("rs") => Some(Language::Rust),
            Some("py" | "pyi" | "pyw") => Some(Language::Python),
            Some("js" | "jsx" | "mjs" | "cjs") => Some(Language::JavaScript),
            Some("ts" | "mts" | "cts") => Some(Language::TypeScript),
            Some("tsx") => Some(Language::Tsx),
            Some("go") => Some(Language::Go),
            Some("java") => Some(Language::Java),
            Some("c") => Some(Language::C),
            Some("h") => Some(if looks_like_cpp(text_start) { Language::Cpp } else { Language::C }),
            Some("cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "tpp") => Some(Language::Cpp),
            Some("cs") => Some(Language::CSharp),
            Some("rb" | "rake" | "gemspec") => Some(Language::Ruby),
            Some("php" | "phtml") => Some(Language::Php),
            _ => None,
        };
        if by_extension.is_some() {
            return by_extension;
        }
        if let Some("Rakefile" | "Gemfile" | "Guardfile") = path.file_name().and_then(|n| n.to_str()) {
            return Some(Language::Ruby);
        }
        if extension.is_some() {
            return None;
        }
        detect_shebang(text_start)
    }
}

fn looks_like_cpp(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&text[..text.len().min(64 * 1024)]);
    ["class ", "namespace ", "template <", "template<", "public:", "private:", "std::", "#include <string>"]
        .iter()
        .any(|marker| text.contains(marker))
}

fn detect_shebang(text: &[u8]) -> Option<Language> {
    let first_line = text.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first_line).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|w| !w.starts_with('-'))?;
    }
    let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match program {
        "python" | "pypy" => Some(Language::Python),
        "node" | "nodejs" | "deno" | "bun" => Some(Language::JavaScript),
        "ruby" => Some(Language::Ruby),
        "php" => Some(Language::Php),
        _ => None,
    }
}

/// Limits that protect the indexer from hostile or pathological inputs.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Files larger than this are skipped (minified bundles, generated code). Default 1 MiB.
    pub max_file_bytes: usize,
    /// Parsing is cancelled after this long. Default 2 s.
    pub deadline: Duration,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_file_bytes: 1 << 20, deadline: Duration::from_secs(2) }
    }
}

/// Why a file was not parsed. Every skip is logged by the caller with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("not a supported language")]
    UnsupportedLanguage,
    #[error("binary file (NUL byte in the first 8 KiB)")]
    Binary,
    #[error("file is {size} bytes, above the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("parsing took longer than {0:?} and was cancelled")]
    Deadline(Duration),
}

/// A parsed source file, borrowing the caller's bytes when they are valid UTF-8 (no copy of
/// the file).
pub struct ParsedFile<'a> {
    pub language: Language,
    /// The text that was parsed. Invalid UTF-8 is decoded lossily (U+FFFD), so a file with a
    /// stray Latin-1 byte still yields its symbols; `lossy_utf8` records that it happened.
    pub text: std::borrow::Cow<'a, str>,
    pub lossy_utf8: bool,
    pub tree: Tree,
}

impl ParsedFile<'_> {
    /// True when tree-sitter had to recover from syntax errors somewhere in the file.
    pub fn has_errors(&self) -> bool {
        self.tree.root_node().has_error()
    }
}

/// Parses `bytes` (the content of `path`), applying the limits.
pub fn parse<'a>(path: &Path, bytes: &'a [u8], limits: &ParseLimits) -> Result<ParsedFile<'a>, SkipReason> {
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    if bytes.len() > limits.max_file_bytes {
        return Err(SkipReason::TooLarge { size: bytes.len(), limit: limits.max_file_bytes });
    }
    let language = Language::detect(path, bytes).ok_or(SkipReason::UnsupportedLanguage)?;
    let text = String::from_utf8_lossy(bytes);
    let lossy_utf8 = matches!(text, std::borrow::Cow::Owned(_));
    let parse_input = match language {
        Language::C | Language::Cpp => blank_cplusplus_linkage_guards(&text),
        _ => std::borrow::Cow::Borrowed(&*text),
    };
    let tree = parse_text(language, &parse_input, limits.deadline)?;
    Ok(ParsedFile { language, text, lossy_utf8, tree })
}

/// Headers open `extern "C" {` inside one `#ifdef __cplusplus` block and close it in another.
/// Without a preprocessor that brace is unbalanced and every declaration between the two blocks
/// lands in an error node. Those guard blocks are replaced by spaces (newlines kept), so byte
/// offsets and positions are unchanged and the declarations parse as written.
fn blank_cplusplus_linkage_guards(text: &str) -> std::borrow::Cow<'_, str> {
    // Almost no file has a guard: skip the line scan (and its allocations) for all of those.
    if !text.contains("__cplusplus") {
        return std::borrow::Cow::Borrowed(text);
    }
    let is_guard = |line: &str| {
        if !line.contains("__cplusplus") {
            return false;
        }
        let line: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
        matches!(
            line.as_str(),
            "#ifdef __cplusplus" | "# ifdef __cplusplus" | "#if defined(__cplusplus)" | "#if defined __cplusplus"
        )
    };
    let is_linkage_line = |line: &str| {
        let line = line.trim();
        line.is_empty() || line == "}" || line.starts_with("extern \"C\"") || line.starts_with("//")
    };
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .collect();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if is_guard(lines[index].1) {
            let end = (index + 1..lines.len().min(index + 5))
                .find(|&j| lines[j].1.trim_start().trim_start_matches('#').trim_start().starts_with("endif"));
            if let Some(end) = end
                && (index + 1..end).all(|j| is_linkage_line(lines[j].1))
            {
                ranges.push(lines[index].0..lines[end].0 + lines[end].1.len());
                index = end + 1;
                continue;
            }
        }
        index += 1;
    }
    if ranges.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for range in ranges {
        for byte in &mut bytes[range] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    // Only ASCII bytes of whole lines were replaced by ASCII spaces: still valid UTF-8.
    std::borrow::Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_string()))
}

/// Parses text of a known language with a deadline. Exposed for benchmarks (bare parse speed).
pub fn parse_text(language: Language, text: &str, deadline: Duration) -> Result<Tree, SkipReason> {
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).expect("grammar crates are built against a compatible tree-sitter ABI");
    let started = Instant::now();
    let bytes = text.as_bytes();
    let mut read = |offset: usize, _| &bytes[offset.min(bytes.len())..];
    // Returning true from the progress callback cancels the parse.
    let mut past_deadline = |_: &tree_sitter::ParseState| started.elapsed() > deadline;
    let options = ParseOptions::new().progress_callback(&mut past_deadline);
    parser.parse_with_options(&mut read, None, Some(options)).ok_or(SkipReason::Deadline(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages_by_extension_and_shebang() {
        assert_eq!(Language::detect(Path::new("a/b.rs"), b""), Some(Language::Rust));
        assert_eq!(Language::detect(Path::new("x.tsx"), b""), Some(Language::Tsx));
        assert_eq!(Language::detect(Path::new("bin/tool"), b"#!/usr/bin/env python3\n"), Some(Language::Python));
        assert_eq!(Language::detect(Path::new("bin/run"), b"#!/usr/bin/ruby -w\n"), Some(Language::Ruby));
        assert_eq!(Language::detect(Path::new("x.h"), b"int f(void);"), Some(Language::C));
        assert_eq!(Language::detect(Path::new("x.h"), b"namespace a { class B; }"), Some(Language::Cpp));
        assert_eq!(Language::detect(Path::new("notes.txt"), b"#!/usr/bin/env python"), None);
    }

    #[test]
    fn binary_and_huge_files_are_skipped_with_a_reason() {
        let limits = ParseLimits::default();
        assert_eq!(parse(Path::new("a.rs"), b"fn a() {}\0", &limits).err(), Some(SkipReason::Binary));
        let huge = vec![b' '; limits.max_file_bytes + 1];
        assert!(matches!(parse(Path::new("a.rs"), &huge, &limits), Err(SkipReason::TooLarge { .. })));
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        let parsed = parse(Path::new("a.py"), b"def caf\xe9():\n    pass\n", &ParseLimits::default()).unwrap();
        assert!(parsed.lossy_utf8);
        assert!(parsed.text.contains('\u{FFFD}'));
    }

    #[test]
    fn a_parse_past_its_deadline_is_cancelled() {
        let text = "fn f() { let x = 1 + 2; }\n".repeat(20_000);
        assert_eq!(parse_text(Language::Rust, &text, Duration::ZERO).err(), Some(SkipReason::Deadline(Duration::ZERO)));
    }

    #[test]
    fn split_extern_c_blocks_do_not_hide_header_declarations() {
        let header = "#ifdef __cplusplus\nextern \"C\" {\n#endif\nint f(void);\n#ifdef __cplusplus\n}\n#endif\n";
        let parsed = parse(Path::new("x.h"), header.as_bytes(), &ParseLimits::default()).unwrap();
        assert!(!parsed.has_errors(), "{}", parsed.tree.root_node().to_sexp());
        assert_eq!(parsed.text, header, "the stored text is the file's");
    }

    #[test]
    fn deeply_nested_expressions_do_not_overflow_the_stack() {
        let text = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let parsed = parse(Path::new("deep.py"), text.as_bytes(), &ParseLimits::default()).unwrap();
        assert!(!parsed.has_errors());
    }
}
