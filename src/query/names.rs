//! The in-memory name index behind `workspace/symbol` and `znt symbols`: ranked fuzzy matching
//! over symbol names. Derived from the Lance table (the single source of truth) and rebuilt
//! from it; never written to.
//!
//! Ranking, best first: exact name > prefix > word-boundary match (camelCase / snake_case
//! initialisms: `ibfo` → `initBookForOfficial`, `TPE` → `ThreadPoolExecutor`) > substring >
//! subsequence. Matching is case-smart: a query with an upper-case letter is case-sensitive,
//! otherwise case-insensitive (a case-exact match still ranks first). Ties go to types before
//! functions before members, then to shorter names and shallower paths.

use serde::{Deserialize, Serialize};

/// One indexed name with what a result needs to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameEntry {
    pub id: String,
    pub name: String,
    pub qualified_name: String,
    pub kind: String,
    pub language: String,
    pub path: String,
    pub parent: Option<String>,
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub start_col_utf16: u32,
    pub end_col_utf16: u32,
}

/// How well a name matched, best first when sorted descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MatchTier {
    Subsequence = 1,
    Substring = 2,
    WordBoundary = 3,
    Prefix = 4,
    Exact = 5,
}

/// A ranked result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameMatch {
    pub entry: NameEntry,
    pub tier: MatchTier,
    pub score: i64,
}

/// Letters and digits present in a string, as a 64-bit set: a cheap filter that rejects most
/// names before any real matching.
fn char_mask(text: &str) -> u64 {
    let mut mask = 0u64;
    for byte in text.bytes() {
        let bit = match byte.to_ascii_lowercase() {
            b'a'..=b'z' => byte.to_ascii_lowercase() - b'a',
            b'0'..=b'9' => 26 + byte - b'0',
            b'_' => 36,
            _ => 37 + (byte % 26),
        };
        mask |= 1 << bit;
    }
    mask
}

/// One file's names with their lower-cased forms and character masks.
#[derive(Debug, Default)]
struct FileNames {
    entries: Vec<NameEntry>,
    lower: Vec<String>,
    masks: Vec<u64>,
    /// Word-start positions of ASCII names up to 128 bytes, as a bit set (0 = not computed).
    starts: Vec<u128>,
}

impl FileNames {
    fn new(entries: Vec<NameEntry>) -> FileNames {
        let lower = entries.iter().map(|e| e.name.to_lowercase()).collect();
        let masks = entries.iter().map(|e| char_mask(&e.name)).collect();
        let starts = entries.iter().map(|e| ascii_word_starts(e.name.as_bytes())).collect();
        FileNames { entries, lower, masks, starts }
    }
}

/// `word_starts` for ASCII names as a bit set; 0 for names it cannot represent.
fn ascii_word_starts(name: &[u8]) -> u128 {
    if name.is_empty() || name.len() > 128 || !name.is_ascii() {
        return 0;
    }
    let chars: Vec<char> = name.iter().map(|&b| b as char).collect();
    word_starts(&chars).iter().enumerate().filter(|(_, start)| **start).fold(0u128, |bits, (i, _)| bits | (1 << i))
}

/// The word-boundary match of [`word_boundary_match`] on ASCII bytes with bit sets: bit `j` of
/// `reach` says the query so far can end at name byte `j`. No allocation; a few word operations
/// per query character.
fn word_boundary_match_ascii(name: &[u8], starts: u128, query: &[u8], case_sensitive: bool) -> bool {
    let mut reach: u128 = 0;
    for (i, &q) in query.iter().enumerate() {
        let mut at: u128 = 0;
        for (j, &c) in name.iter().enumerate() {
            let equal = if case_sensitive { c == q } else { c.eq_ignore_ascii_case(&q) };
            if equal {
                at |= 1 << j;
            }
        }
        reach = if i == 0 {
            at & starts
        } else {
            // A word may start anywhere after the earliest position the prefix can end at.
            let after_earliest = if reach == 0 {
                0
            } else {
                let lowest = reach & reach.wrapping_neg();
                !(lowest | (lowest - 1))
            };
            at & ((starts & after_earliest) | (reach << 1))
        };
        if reach == 0 {
            return false;
        }
    }
    true
}

/// The index: names grouped by file, each file's group shared (`Arc`) between snapshots, so
/// replacing the files of one commit copies pointers, not names.
#[derive(Debug, Default, Clone)]
pub struct NameIndex {
    files: std::collections::HashMap<String, std::sync::Arc<FileNames>>,
    count: usize,
}

fn group_by_path(entries: Vec<NameEntry>) -> std::collections::HashMap<String, Vec<NameEntry>> {
    let mut grouped: std::collections::HashMap<String, Vec<NameEntry>> = std::collections::HashMap::new();
    for entry in entries {
        grouped.entry(entry.path.clone()).or_default().push(entry);
    }
    grouped
}

impl NameIndex {
    pub fn new(entries: Vec<NameEntry>) -> NameIndex {
        let count = entries.len();
        let files = group_by_path(entries)
            .into_iter()
            .map(|(path, entries)| (path, std::sync::Arc::new(FileNames::new(entries))))
            .collect();
        NameIndex { files, count }
    }

    /// A new snapshot where the names of `paths` are exactly `entries` (a delta commit).
    pub fn with_files_replaced(&self, paths: &[String], entries: Vec<NameEntry>) -> NameIndex {
        let mut files = self.files.clone();
        for path in paths {
            files.remove(path);
        }
        for (path, entries) in group_by_path(entries) {
            files.insert(path, std::sync::Arc::new(FileNames::new(entries)));
        }
        let count = files.values().map(|f| f.entries.len()).sum();
        NameIndex { files, count }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The best `limit` matches for `query`, ranked. An empty query lists types first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<NameMatch> {
        // Name search runs on its own small pool: queued behind indexing work on the global
        // pool, a keystroke's query would wait for whole files to parse.
        static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
        let pool = POOL.get_or_init(|| {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("znt-names-{i}")).build().ok()
        });
        match pool {
            Some(pool) => pool.install(|| self.search_in_pool(query, limit)),
            None => self.search_in_pool(query, limit),
        }
    }

    fn search_in_pool(&self, query: &str, limit: usize) -> Vec<NameMatch> {
        use rayon::prelude::*;
        let query = query.trim();
        let case_sensitive = query.chars().any(char::is_uppercase);
        let query_lower = query.to_lowercase();
        let query_mask = char_mask(query);
        let query_chars: Vec<char> = query.chars().collect();
        let query_lower_chars: Vec<char> = query_lower.chars().collect();
        let files: Vec<&FileNames> = self.files.values().map(|f| f.as_ref()).collect();
        let query_ascii = query.is_ascii();
        // Files are scanned in parallel; each thread keeps its own candidates.
        let mut found: Vec<(i64, MatchTier, &NameEntry)> = files
            .par_iter()
            .flat_map_iter(|file| {
                let query_chars = &query_chars;
                let query_lower_chars = &query_lower_chars;
                let query_lower = &query_lower;
                file.entries.iter().enumerate().filter_map(move |(index, entry)| {
                    if file.masks[index] & query_mask != query_mask {
                        return None;
                    }
                    let starts = file.starts[index];
                    let tier = if query_ascii && starts != 0 {
                        classify_ascii(&entry.name, &file.lower[index], starts, query, query_lower, case_sensitive)
                    } else {
                        classify(
                            &entry.name,
                            &file.lower[index],
                            query,
                            query_lower,
                            query_chars,
                            query_lower_chars,
                            case_sensitive,
                        )
                    }?;
                    let exact_case = entry.name.starts_with(query);
                    let score =
                        (tier as i64) * 1_000_000 + i64::from(exact_case) * 100_000 + kind_rank(&entry.kind) * 10_000
                            - (entry.name.len() as i64).min(999) * 10
                            - entry.path.matches('/').count() as i64;
                    Some((score, tier, entry))
                })
            })
            .collect();
        let order = |a: &(i64, MatchTier, &NameEntry), b: &(i64, MatchTier, &NameEntry)| {
            b.0.cmp(&a.0)
                .then_with(|| a.2.name.cmp(&b.2.name))
                .then_with(|| a.2.path.cmp(&b.2.path))
                .then_with(|| a.2.start_line.cmp(&b.2.start_line))
        };
        let limit = limit.max(1).min(found.len());
        if limit < found.len() {
            found.select_nth_unstable_by(limit - 1, order);
            found.truncate(limit);
        }
        found.sort_by(order);
        found.into_iter().map(|(score, tier, entry)| NameMatch { entry: entry.clone(), tier, score }).collect()
    }
}

/// Types first, then callables, then members and values.
fn kind_rank(kind: &str) -> i64 {
    match kind {
        "class" | "struct" | "interface" | "trait" | "enum" | "type_alias" => 5,
        "module" | "namespace" => 4,
        "function" | "macro" => 3,
        "method" | "constructor" => 2,
        "constant" | "static" => 1,
        _ => 0,
    }
}

fn classify(
    name: &str,
    name_lower: &str,
    query: &str,
    query_lower: &str,
    query_chars: &[char],
    query_lower_chars: &[char],
    case_sensitive: bool,
) -> Option<MatchTier> {
    if query.is_empty() {
        return Some(MatchTier::Subsequence);
    }
    let (haystack, needle, needle_chars) =
        if case_sensitive { (name, query, query_chars) } else { (name_lower, query_lower, query_lower_chars) };
    if haystack == needle {
        return Some(MatchTier::Exact);
    }
    if haystack.starts_with(needle) {
        return Some(MatchTier::Prefix);
    }
    let name_chars: Vec<char> = name.chars().collect();
    if word_boundary_match(&name_chars, needle_chars, case_sensitive) {
        return Some(MatchTier::WordBoundary);
    }
    if haystack.contains(needle) {
        return Some(MatchTier::Substring);
    }
    is_subsequence(haystack, needle_chars).then_some(MatchTier::Subsequence)
}

/// [`classify`] for ASCII queries over ASCII names, without allocating.
fn classify_ascii(
    name: &str,
    name_lower: &str,
    starts: u128,
    query: &str,
    query_lower: &str,
    case_sensitive: bool,
) -> Option<MatchTier> {
    if query.is_empty() {
        return Some(MatchTier::Subsequence);
    }
    let (haystack, needle) = if case_sensitive { (name, query) } else { (name_lower, query_lower) };
    if haystack == needle {
        return Some(MatchTier::Exact);
    }
    if haystack.starts_with(needle) {
        return Some(MatchTier::Prefix);
    }
    if word_boundary_match_ascii(name.as_bytes(), starts, query.as_bytes(), case_sensitive) {
        return Some(MatchTier::WordBoundary);
    }
    if haystack.contains(needle) {
        return Some(MatchTier::Substring);
    }
    let mut wanted = needle.bytes().peekable();
    for c in haystack.bytes() {
        if wanted.peek() == Some(&c) {
            wanted.next();
        }
    }
    wanted.peek().is_none().then_some(MatchTier::Subsequence)
}

/// True at the first letter of each word of an identifier: after `_`/`-`/`.`/`:`, at a
/// lower→upper change, at the last capital of an acronym before a lower-case letter, and at a
/// letter↔digit change.
fn word_starts(name: &[char]) -> Vec<bool> {
    let mut starts = vec![false; name.len()];
    for i in 0..name.len() {
        let c = name[i];
        if !c.is_alphanumeric() {
            continue;
        }
        starts[i] = match i.checked_sub(1).map(|p| name[p]) {
            None => true,
            Some(prev) if !prev.is_alphanumeric() => true,
            Some(prev) => {
                (c.is_uppercase() && prev.is_lowercase())
                    || (c.is_uppercase() && prev.is_uppercase() && name.get(i + 1).is_some_and(|n| n.is_lowercase()))
                    || (c.is_numeric() != prev.is_numeric())
            }
        };
    }
    starts
}

/// Every query character matches either at a word start or right after the previous matched
/// character (continuing a word). `ibfo` matches `initBookForOfficial`; `thpoex` matches
/// `ThreadPoolExecutor`. Dynamic programming over (query position, name position), so no
/// greedy choice can miss a valid alignment.
fn word_boundary_match(name: &[char], query: &[char], case_sensitive: bool) -> bool {
    if query.len() > name.len() || name.len() > 512 {
        return false;
    }
    let starts = word_starts(name);
    let equal = |a: char, b: char| {
        if case_sensitive { a == b } else { a.to_lowercase().eq(b.to_lowercase()) }
    };
    // reachable[j]: query[..i] can end with query[i-1] matched at name[j-1].
    let mut previous = vec![false; name.len() + 1];
    let mut current = vec![false; name.len() + 1];
    for (i, &q) in query.iter().enumerate() {
        current.iter_mut().for_each(|v| *v = false);
        let mut any_before = i == 0;
        for j in 0..name.len() {
            // `any_before`: some earlier position completed query[..i].
            if equal(name[j], q) {
                let at_start = starts[j] && any_before;
                let continues = i > 0 && j > 0 && previous[j];
                if (i == 0 && starts[j]) || at_start || continues {
                    current[j + 1] = true;
                }
            }
            if i > 0 && previous[j + 1] {
                any_before = true;
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.iter().any(|&v| v)
}

fn is_subsequence(haystack: &str, needle: &[char]) -> bool {
    let mut wanted = needle.iter().peekable();
    for c in haystack.chars() {
        if wanted.peek() == Some(&&c) {
            wanted.next();
        }
    }
    wanted.peek().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: &str, path: &str) -> NameEntry {
        NameEntry {
            id: format!("{path}#{name}"),
            name: name.to_string(),
            qualified_name: name.to_string(),
            kind: kind.to_string(),
            language: "rust".to_string(),
            path: path.to_string(),
            parent: None,
            start_line: 0,
            start_col: 0,
            end_line: 0,
            end_col: 0,
            start_col_utf16: 0,
            end_col_utf16: 0,
        }
    }

    fn names(index: &NameIndex, query: &str) -> Vec<String> {
        index.search(query, 10).into_iter().map(|m| m.entry.name).collect()
    }

    #[test]
    fn ranks_exact_then_prefix_then_boundary_then_substring_then_subsequence() {
        let index = NameIndex::new(vec![
            entry("xparsex", "function", "a.rs"),
            entry("pxaxrxsxe", "function", "a.rs"),
            entry("parse_args", "function", "a.rs"),
            entry("parse", "function", "a.rs"),
            entry("ParserState", "struct", "a.rs"),
            entry("PathArrowSource", "struct", "a.rs"),
        ]);
        assert_eq!(
            names(&index, "parse"),
            ["parse", "parse_args", "ParserState", "xparsex", "PathArrowSource", "pxaxrxsxe"]
        );
    }

    #[test]
    fn initialisms_match_word_boundaries() {
        let index = NameIndex::new(vec![
            entry("initBookForOfficial", "function", "a.js"),
            entry("ThreadPoolExecutor", "class", "b.py"),
            entry("TypeParameterExtension", "class", "c.py"),
            entry("tpe_unrelated", "function", "d.py"),
        ]);
        assert_eq!(names(&index, "ibfo"), ["initBookForOfficial"]);
        let tpe = names(&index, "TPE");
        assert_eq!(&tpe[..2], ["ThreadPoolExecutor", "TypeParameterExtension"]);
        assert!(!tpe.contains(&"tpe_unrelated".to_string()), "upper-case query is case-sensitive");
        assert_eq!(names(&index, "thpoex"), ["ThreadPoolExecutor"]);
    }

    #[test]
    fn replacing_a_file_swaps_exactly_its_names() {
        let index = NameIndex::new(vec![entry("alpha", "function", "a.rs"), entry("beta", "function", "b.rs")]);
        let updated = index.with_files_replaced(&["a.rs".to_string()], vec![entry("gamma", "function", "a.rs")]);
        assert_eq!(names(&updated, "alpha"), Vec::<String>::new());
        assert_eq!(names(&updated, "gamma"), ["gamma"]);
        assert_eq!(names(&updated, "beta"), ["beta"]);
        assert_eq!(names(&index, "alpha"), ["alpha"], "the old snapshot is unchanged");
        assert_eq!(updated.len(), 2);
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_the_general_matcher() {
        let names = ["initBookForOfficial", "ThreadPoolExecutor", "HTTPServer_v2", "parse_args", "x", "a1b2C3"];
        let queries = ["ibfo", "TPE", "thpoex", "hsv", "hs2", "pa", "args", "abc", "xyz", "b2c", "IBFO"];
        for name in names {
            let chars: Vec<char> = name.chars().collect();
            for query in queries {
                let query_chars: Vec<char> = query.chars().collect();
                for case_sensitive in [false, true] {
                    let general = word_boundary_match(&chars, &query_chars, case_sensitive);
                    let starts = ascii_word_starts(name.as_bytes());
                    let fast = word_boundary_match_ascii(name.as_bytes(), starts, query.as_bytes(), case_sensitive);
                    assert_eq!(general, fast, "{name} / {query} / case-sensitive {case_sensitive}");
                }
            }
        }
    }

    #[test]
    fn types_win_ties_and_an_empty_query_is_useful() {
        let index = NameIndex::new(vec![entry("Config", "function", "a.rs"), entry("Config", "struct", "b.rs")]);
        let results = index.search("config", 10);
        assert_eq!(results[0].entry.kind, "struct");
        assert_eq!(index.search("", 10).len(), 2);
    }
}
