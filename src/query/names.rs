//! The in-memory name index behind `workspace/symbol` and `znt symbols`: ranked fuzzy matching
//! over symbol names. Derived from the Lance table (the single source of truth) and rebuilt
//! from it; never written to.
//!
//! Ranking, best first: exact name > prefix > word-boundary match (camelCase / snake_case
//! initialisms: `ibfo` → `initBookForOfficial`, `TPE` → `ThreadPoolExecutor`) > substring >
//! subsequence. Matching is case-smart: a query with an upper-case letter is case-sensitive,
//! otherwise case-insensitive (a case-exact match still ranks first). Ties go to types before
//! functions before members, then to shorter names and shallower paths.
//!
//! Layout, for speed at a million names without giving up any of that ranking: a large
//! immutable *base*, sorted by the query-independent part of the score, plus a small *overlay*
//! of files committed since the base was built (the base's copies of those files are marked
//! dead). A query never scans the whole base when it can avoid it:
//! - exact and prefix matches come from a name-sorted permutation (binary search);
//! - word-boundary matches must start at a word start with the query's first letter, so they
//!   come from a posting list per word-initial letter, read in rank order and stopped as soon
//!   as enough are found (nothing later in rank order can beat them);
//! - only when those tiers cannot fill the limit is the base scanned in rank order for
//!   substrings and subsequences, skipping 64-name blocks by character set, again stopping
//!   early.
//!
//! The overlay is scanned in full; when it outgrows a fraction of the base, both are merged
//! into a new base.

use std::collections::HashMap;
use std::sync::Arc;

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

impl From<&crate::symbols::Symbol> for NameEntry {
    /// The name entry of a row as committed (what `Engine::name_entries` reads back).
    fn from(symbol: &crate::symbols::Symbol) -> NameEntry {
        NameEntry {
            id: symbol.id.clone(),
            name: symbol.name.clone(),
            qualified_name: symbol.qualified_name.clone(),
            kind: symbol.kind.clone(),
            language: symbol.language.clone(),
            path: symbol.path.clone(),
            parent: symbol.parent.clone(),
            start_line: symbol.start_line,
            start_col: symbol.start_col,
            end_line: symbol.end_line,
            end_col: symbol.end_col,
            start_col_utf16: symbol.start_col_utf16,
            end_col_utf16: symbol.end_col_utf16,
        }
    }
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

/// Letters and digits present in a lower-cased string, as a 64-bit set: a cheap filter that
/// rejects most names before any real matching.
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

/// The ASCII capitals present in a string: case-sensitive queries need all of theirs.
fn upper_mask(text: &str) -> u32 {
    text.bytes().filter(u8::is_ascii_uppercase).fold(0, |mask, byte| mask | 1 << (byte - b'A'))
}

/// The query-independent part of the score: kind, then shorter names, then shallower paths.
fn static_score(entry: &NameEntry) -> i64 {
    kind_rank(&entry.kind) * 10_000 - (entry.name.len() as i64).min(999) * 10 - entry.path.matches('/').count() as i64
}

fn score(tier: MatchTier, entry: &NameEntry, query: &str) -> i64 {
    let exact_case = entry.name.starts_with(query);
    (tier as i64) * 1_000_000 + i64::from(exact_case) * 100_000 + static_score(entry)
}

/// The final order of results: score, then name, path and line so that ties are stable.
fn result_order(a: &(i64, MatchTier, &NameEntry), b: &(i64, MatchTier, &NameEntry)) -> std::cmp::Ordering {
    b.0.cmp(&a.0)
        .then_with(|| a.2.name.cmp(&b.2.name))
        .then_with(|| a.2.path.cmp(&b.2.path))
        .then_with(|| a.2.start_line.cmp(&b.2.start_line))
}

/// A query, prepared once.
struct Query<'q> {
    text: &'q str,
    lower: String,
    chars: Vec<char>,
    lower_chars: Vec<char>,
    mask: u64,
    /// Capitals a name must contain (case-sensitive queries only).
    upper: u32,
    case_sensitive: bool,
    ascii: bool,
}

impl<'q> Query<'q> {
    fn new(text: &'q str) -> Query<'q> {
        let lower = text.to_lowercase();
        Query {
            text,
            chars: text.chars().collect(),
            lower_chars: lower.chars().collect(),
            mask: char_mask(&lower),
            upper: if text.chars().any(char::is_uppercase) { upper_mask(text) } else { 0 },
            case_sensitive: text.chars().any(char::is_uppercase),
            ascii: text.is_ascii(),
            lower,
        }
    }

    /// Cheap necessary conditions: the name has every character (and capital) of the query.
    fn may_match(&self, mask: u64, upper: u32) -> bool {
        mask & self.mask == self.mask && upper & self.upper == self.upper
    }

    fn classify(&self, name: &str, lower: &str, starts: u128) -> Option<MatchTier> {
        if self.ascii && starts != 0 {
            classify_ascii(name, lower, starts, self.text, &self.lower, self.case_sensitive)
        } else {
            classify(name, lower, self.text, &self.lower, &self.chars, &self.lower_chars, self.case_sensitive)
        }
    }
}

/// Names with their lower-cased forms, character masks and word starts.
#[derive(Debug, Default)]
struct FileNames {
    entries: Vec<NameEntry>,
    lower: Vec<String>,
    masks: Vec<u64>,
    uppers: Vec<u32>,
    /// Word-start positions of ASCII names up to 128 bytes, as a bit set (0 = not computed).
    starts: Vec<u128>,
}

impl FileNames {
    fn new(entries: Vec<NameEntry>) -> FileNames {
        let lower: Vec<String> = entries.iter().map(|e| e.name.to_lowercase()).collect();
        let masks = lower.iter().map(|l| char_mask(l)).collect();
        let uppers = entries.iter().map(|e| upper_mask(&e.name)).collect();
        let starts = entries.iter().map(|e| ascii_word_starts(e.name.as_bytes())).collect();
        FileNames { entries, lower, masks, uppers, starts }
    }

    /// Every match, unranked (the overlay is small).
    fn scan<'a>(&'a self, query: &Query, keep: Keep, found: &mut Vec<(i64, MatchTier, &'a NameEntry)>) {
        for (index, entry) in self.entries.iter().enumerate() {
            if !query.may_match(self.masks[index], self.uppers[index]) || !keep(entry) {
                continue;
            }
            if let Some(tier) = query.classify(&entry.name, &self.lower[index], self.starts[index]) {
                found.push((score(tier, entry, query.text), tier, entry));
            }
        }
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

/// The keys of the word-boundary posting lists of a name, lower-cased: every word-initial
/// letter alone, and every pair (word-initial letter, a letter that may follow it in a
/// word-boundary match: the next letter, or the initial of any later word).
fn boundary_keys(name: &str) -> (Vec<char>, Vec<(char, char)>) {
    let chars: Vec<char> = name.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect();
    let original: Vec<char> = name.chars().collect();
    let starts = word_starts(&original);
    let mut singles = Vec::new();
    let mut pairs = Vec::new();
    for (i, _) in starts.iter().enumerate().filter(|(_, start)| **start) {
        singles.push(chars[i]);
        if let Some(&next) = chars.get(i + 1) {
            pairs.push((chars[i], next));
        }
        for (k, _) in starts.iter().enumerate().skip(i + 1).filter(|(_, start)| **start) {
            pairs.push((chars[i], chars[k]));
        }
    }
    singles.sort_unstable();
    singles.dedup();
    pairs.sort_unstable();
    pairs.dedup();
    (singles, pairs)
}

/// Byte trigrams of a (lower-cased) string, packed.
fn trigrams(text: &[u8]) -> Vec<u32> {
    text.windows(3).map(|w| u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2])).collect()
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

/// The lowest tier a strict search returns for a (non-empty) query.
fn strict_tier(query: &Query) -> MatchTier {
    if query.lower.len() >= 3 { MatchTier::Substring } else { MatchTier::WordBoundary }
}

/// Which entries a search may return.
pub type Keep<'k> = &'k dyn Fn(&NameEntry) -> bool;

/// Names per 64-entry block of the base, for skipping blocks by character set.
const BLOCK: usize = 64;

/// The immutable bulk of the index, sorted best-first by [`static_score`] (then name, path,
/// line), so that rank order within a match tier is array order.
#[derive(Debug, Default)]
struct Base {
    names: FileNames,
    /// File number of each entry, and each file's path and entry count.
    file_of: Vec<u32>,
    file_paths: HashMap<String, u32>,
    file_sizes: Vec<u32>,
    /// Entry indexes sorted by lower-cased name: exact and prefix matches by binary search.
    by_name: Vec<u32>,
    /// The names (as written) in `by_name` order, back to back, and where each starts: the
    /// exact and prefix ranges are read sequentially instead of one heap string per name.
    sorted_names: String,
    sorted_at: Vec<u32>,
    /// [`static_score`] of each entry (the base is sorted by it).
    static_scores: Vec<i64>,
    /// Entry indexes (ascending, so rank order) per lower-cased word-initial letter, and per
    /// pair of [`boundary_keys`]: the word-boundary candidates of one- and longer queries.
    by_initial: HashMap<char, Vec<u32>>,
    by_pair: HashMap<(char, char), Vec<u32>>,
    /// Entry indexes (ascending) per byte trigram of the lower-cased name: substring candidates.
    by_trigram: HashMap<u32, Vec<u32>>,
    /// Union of the character masks of each block of [`BLOCK`] entries.
    block_masks: Vec<u64>,
}

impl Base {
    fn new(mut entries: Vec<NameEntry>) -> Base {
        let mut keyed: Vec<(i64, NameEntry)> = entries.drain(..).map(|e| (static_score(&e), e)).collect();
        keyed.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.name.cmp(&b.1.name))
                .then_with(|| a.1.path.cmp(&b.1.path))
                .then_with(|| a.1.start_line.cmp(&b.1.start_line))
        });
        let static_scores = keyed.iter().map(|(score, _)| *score).collect();
        let names = FileNames::new(keyed.into_iter().map(|(_, e)| e).collect());
        let mut file_paths: HashMap<String, u32> = HashMap::new();
        let mut file_sizes: Vec<u32> = Vec::new();
        let mut file_of = Vec::with_capacity(names.entries.len());
        let mut by_initial: HashMap<char, Vec<u32>> = HashMap::new();
        let mut by_pair: HashMap<(char, char), Vec<u32>> = HashMap::new();
        let mut by_trigram: HashMap<u32, Vec<u32>> = HashMap::new();
        for (index, entry) in names.entries.iter().enumerate() {
            let next = file_paths.len() as u32;
            let file = *file_paths.entry(entry.path.clone()).or_insert(next);
            if file as usize == file_sizes.len() {
                file_sizes.push(0);
            }
            file_sizes[file as usize] += 1;
            file_of.push(file);
            let (singles, pairs) = boundary_keys(&entry.name);
            for key in singles {
                by_initial.entry(key).or_default().push(index as u32);
            }
            for key in pairs {
                by_pair.entry(key).or_default().push(index as u32);
            }
            let mut keys = trigrams(names.lower[index].as_bytes());
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                by_trigram.entry(key).or_default().push(index as u32);
            }
        }
        let mut by_name: Vec<u32> = (0..names.entries.len() as u32).collect();
        by_name.sort_by(|&a, &b| names.lower[a as usize].cmp(&names.lower[b as usize]));
        let mut sorted_names = String::new();
        let mut sorted_at = Vec::with_capacity(by_name.len() + 1);
        for &index in &by_name {
            sorted_at.push(sorted_names.len() as u32);
            sorted_names.push_str(&names.entries[index as usize].name);
        }
        sorted_at.push(sorted_names.len() as u32);
        let block_masks = names.masks.chunks(BLOCK).map(|block| block.iter().fold(0, |all, m| all | m)).collect();
        Base {
            names,
            file_of,
            file_paths,
            file_sizes,
            by_name,
            sorted_names,
            sorted_at,
            static_scores,
            by_initial,
            by_pair,
            by_trigram,
            block_masks,
        }
    }

    fn len(&self) -> usize {
        self.names.entries.len()
    }

    /// False when the entry's file is superseded (its bit is set in `dead`).
    fn alive(&self, dead: &[u64], index: usize) -> bool {
        self.file_alive(dead, self.file_of[index] as usize)
    }

    /// The name at position `at` of the by-name order.
    fn sorted_name(&self, at: usize) -> &str {
        &self.sorted_names[self.sorted_at[at] as usize..self.sorted_at[at + 1] as usize]
    }

    fn file_alive(&self, dead: &[u64], file: usize) -> bool {
        dead.get(file / 64).is_none_or(|word| word & (1 << (file % 64)) == 0)
    }

    /// The best `limit` live matches of the base, possibly with more of the top tiers: every
    /// exact and prefix match, then word-boundary, substring and subsequence matches in rank
    /// order until `limit` is reached.
    fn search<'a>(
        &'a self,
        query: &Query,
        limit: usize,
        dead: &[u64],
        keep: Keep,
        strict: bool,
    ) -> Vec<(i64, MatchTier, &'a NameEntry)> {
        let names = &self.names;
        // Nothing superseded (a dependency set, a fresh base): no per-name file lookup.
        let none_dead = dead.iter().all(|word| *word == 0);
        let alive = |index: usize| none_dead || self.alive(dead, index);
        // The caller's filter runs last, on names that match: it may cost a lookup per name.
        let kept = |index: usize| keep(&names.entries[index]);
        let mut found = Vec::new();
        if query.text.is_empty() {
            // Every name matches as a subsequence; the best are simply the first live ones.
            for index in (0..self.len()).filter(|&i| alive(i) && kept(i)).take(limit) {
                found.push((
                    score(MatchTier::Subsequence, &names.entries[index], ""),
                    MatchTier::Subsequence,
                    &names.entries[index],
                ));
            }
            return found;
        }
        let classify = |index: usize| {
            if !query.may_match(names.masks[index], names.uppers[index]) || !alive(index) {
                return None;
            }
            query.classify(&names.entries[index].name, &names.lower[index], names.starts[index]).filter(|_| kept(index))
        };
        // [`score`], with the static part read from its array.
        let scored = |index: usize, tier: MatchTier, case_exact: bool| {
            let score = (tier as i64) * 1_000_000 + i64::from(case_exact) * 100_000 + self.static_scores[index];
            (score, tier, &names.entries[index])
        };
        let hit =
            |index: usize, tier: MatchTier| scored(index, tier, names.entries[index].name.starts_with(query.text));
        // Exact and prefix: a contiguous range of the name-sorted permutation, the exact names
        // at its start.
        let by_name = |from: usize, test: &dyn Fn(&str) -> bool| {
            from + self.by_name[from..].partition_point(|&i| test(names.lower[i as usize].as_str()))
        };
        let first = by_name(0, &|lower| lower < query.lower.as_str());
        let exact_end = by_name(first, &|lower| lower == query.lower);
        let prefix_end = by_name(exact_end, &|lower| lower.starts_with(&query.lower));
        // In this range every live name is an exact or prefix match case-insensitively; a
        // case-sensitive query also needs the case to match (the rest are found later).
        let tier_of = |name: &str, exact: bool| {
            if query.case_sensitive && !name.starts_with(query.text) {
                None
            } else if exact && (!query.case_sensitive || name.len() == query.text.len()) {
                Some(MatchTier::Exact)
            } else {
                Some(MatchTier::Prefix)
            }
        };
        // Exact names are in rank order here (the sort by name is stable over the rank order),
        // the case-exact ones ranked first: `limit` of those end the search, and more than
        // `limit` of the others can never be needed. (`new` has tens of thousands in a large
        // dependency set.)
        let (mut case_exact, mut other) = (0, 0);
        for at in first..exact_end {
            let index = self.by_name[at] as usize;
            let name = self.sorted_name(at);
            let Some(tier) = tier_of(name, true).filter(|_| alive(index) && kept(index)) else { continue };
            if name.starts_with(query.text) {
                found.push(scored(index, tier, true));
                case_exact += 1;
                if case_exact == limit {
                    return found;
                }
            } else if other < limit {
                found.push(scored(index, tier, false));
                other += 1;
            }
        }
        let prefixes = prefix_end - exact_end;
        if prefixes <= 4 * limit.max(PREFIX_RANGE_MIN) || prefixes < self.len() / 16 {
            // Every name of the range is a prefix match (or none), ranked by case-exact then
            // array order, so only its best `limit` can reach the result: select those by a
            // cheap key, reading the range's names in order, before scoring any.
            let mut keys: Vec<u64> = (exact_end..prefix_end)
                .filter_map(|at| {
                    let index = self.by_name[at] as usize;
                    let name = self.sorted_name(at);
                    tier_of(name, false).filter(|_| alive(index) && kept(index))?;
                    Some((u64::from(!name.starts_with(query.text)) << 32) | index as u64)
                })
                .collect();
            if keys.len() > limit {
                keys.select_nth_unstable(limit - 1);
                keys.truncate(limit);
            }
            for key in keys {
                found.push(scored((key & u64::from(u32::MAX)) as usize, MatchTier::Prefix, key >> 32 == 0));
            }
        } else {
            // A short, common prefix: walk in rank order instead, until `limit` case-exact
            // prefixes (nothing later can beat those) or the whole range has been seen.
            let (mut seen, mut case_exact) = (0, 0);
            for index in 0..self.len() {
                let lower = names.lower[index].as_str();
                if lower.len() == query.lower.len() || !lower.starts_with(&query.lower) {
                    continue;
                }
                seen += 1;
                let name = names.entries[index].name.as_str();
                if tier_of(name, false).is_some() && alive(index) && kept(index) {
                    let exact_case = name.starts_with(query.text);
                    found.push(scored(index, MatchTier::Prefix, exact_case));
                    case_exact += usize::from(exact_case);
                }
                if case_exact == limit || seen == prefixes {
                    break;
                }
            }
        }
        if found.len() >= limit {
            return found;
        }
        // Word-boundary: the first query letter starts a word.
        let mut need = limit - found.len();
        // The letters the matcher compares, keyed as the posting lists are (first char of the
        // lower-case form), so that every word-boundary match is in the list.
        let letters = if query.case_sensitive { &query.chars } else { &query.lower_chars };
        let keys: Vec<char> = letters.iter().take(2).map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
        let candidates = match keys[..] {
            [first] => self.by_initial.get(&first),
            [first, second, ..] => self.by_pair.get(&(first, second)),
            [] => None,
        };
        let mut boundary = 0;
        for &index in candidates.map(Vec::as_slice).unwrap_or_default() {
            let index = index as usize;
            if classify(index) == Some(MatchTier::WordBoundary) {
                found.push(hit(index, MatchTier::WordBoundary));
                boundary += 1;
                if boundary == need {
                    return found;
                }
            }
        }
        need -= boundary;
        let mut substrings = 0;
        if query.lower.len() >= 3 {
            // Substring: every trigram of the query is in the name; intersect the two shortest
            // posting lists, then check.
            let mut lists: Vec<&[u32]> = Vec::new();
            for key in trigrams(query.lower.as_bytes()) {
                match self.by_trigram.get(&key) {
                    Some(list) => lists.push(list),
                    None => lists.push(&[]),
                }
            }
            lists.sort_by_key(|list| list.len());
            let (shortest, second) = (lists[0], lists.get(1).copied().unwrap_or(lists[0]));
            let mut other = second.iter().peekable();
            for &index in shortest {
                while other.next_if(|&&o| o < index).is_some() {}
                if other.peek() != Some(&&index) {
                    continue;
                }
                let index = index as usize;
                if classify(index) == Some(MatchTier::Substring) {
                    found.push(hit(index, MatchTier::Substring));
                    substrings += 1;
                    if substrings == need {
                        return found;
                    }
                }
            }
        }
        if strict {
            // No scattered matches: the scan below is what costs on millions of names.
            return found;
        }
        // Subsequence (and, for short queries, substring): scan in rank order, skipping blocks
        // by character set, until enough are found; the first seen are the best of their tier.
        let short = query.lower.len() < 3;
        let mut subsequences = 0;
        for (block, mask) in self.block_masks.iter().enumerate() {
            if mask & query.mask != query.mask {
                continue;
            }
            for index in block * BLOCK..((block + 1) * BLOCK).min(self.len()) {
                // Short queries find substrings here too; later substrings shrink how many
                // subsequences are needed, so collecting up to `need` in all is enough.
                let tier = match classify(index) {
                    Some(MatchTier::Substring) if short => {
                        substrings += 1;
                        MatchTier::Substring
                    }
                    Some(MatchTier::Subsequence) if subsequences + substrings < need => {
                        subsequences += 1;
                        MatchTier::Subsequence
                    }
                    _ => continue,
                };
                found.push(hit(index, tier));
                if substrings == need || (!short && subsequences + substrings == need) {
                    return found;
                }
            }
        }
        found
    }
}

/// Prefix ranges up to this size (times four, or four times the limit) are read whole; larger
/// ones are walked in rank order (small in tests, so that they take both paths).
const PREFIX_RANGE_MIN: usize = if cfg!(test) { 16 } else { 256 };

/// The overlay size below which it is never merged (small in tests, so that they merge too).
const OVERLAY_MIN: usize = if cfg!(test) { 256 } else { 16_384 };

/// The index: an immutable [`Base`] shared (`Arc`) between snapshots, the files committed since
/// it was built, and which base files those superseded. Replacing the files of one commit
/// copies pointers and a bit set, not names.
#[derive(Debug, Default, Clone)]
pub struct NameIndex {
    base: Arc<Base>,
    /// Base file numbers whose names are superseded, as a bit set.
    dead: Arc<Vec<u64>>,
    overlay: HashMap<String, Arc<FileNames>>,
    overlay_count: usize,
    count: usize,
}

fn group_by_path(entries: Vec<NameEntry>) -> HashMap<String, Vec<NameEntry>> {
    let mut grouped: HashMap<String, Vec<NameEntry>> = HashMap::new();
    for entry in entries {
        grouped.entry(entry.path.clone()).or_default().push(entry);
    }
    grouped
}

impl NameIndex {
    pub fn new(entries: Vec<NameEntry>) -> NameIndex {
        let count = entries.len();
        NameIndex { base: Arc::new(Base::new(entries)), count, ..NameIndex::default() }
    }

    /// A new snapshot where the names of `paths` are exactly `entries` (a delta commit).
    pub fn with_files_replaced(&self, paths: &[String], entries: Vec<NameEntry>) -> NameIndex {
        let mut next = self.clone();
        let dead = Arc::make_mut(&mut next.dead);
        for path in paths {
            if let Some(old) = next.overlay.remove(path) {
                next.overlay_count -= old.entries.len();
                next.count -= old.entries.len();
            } else if let Some(&file) = self.base.file_paths.get(path) {
                let (word, bit) = (file as usize / 64, file % 64);
                if dead.len() <= word {
                    dead.resize(word + 1, 0);
                }
                if dead[word] & (1 << bit) == 0 {
                    dead[word] |= 1 << bit;
                    next.count -= self.base.file_sizes[file as usize] as usize;
                }
            }
        }
        for (path, entries) in group_by_path(entries) {
            next.overlay_count += entries.len();
            next.count += entries.len();
            if let Some(old) = next.overlay.insert(path, Arc::new(FileNames::new(entries))) {
                next.overlay_count -= old.entries.len();
                next.count -= old.entries.len();
            }
        }
        // Merge into a new base once scanning the overlay would cost more than the base's
        // indexes save (and amortized: a rebuild per eighth of the base's size in changes).
        if next.overlay_count > OVERLAY_MIN.max(self.base.len() / 8) {
            return NameIndex::new(next.live_entries());
        }
        next
    }

    fn live_entries(&self) -> Vec<NameEntry> {
        let dead = &self.dead;
        let base = &self.base;
        let alive = |index: usize| base.alive(dead, index);
        let mut entries: Vec<NameEntry> =
            base.names.entries.iter().enumerate().filter(|(i, _)| alive(*i)).map(|(_, e)| e.clone()).collect();
        for file in self.overlay.values() {
            entries.extend(file.entries.iter().cloned());
        }
        entries
    }

    /// A new index of the live names whose file `keep_path` accepts (e.g. one package's), or
    /// `None` when there would be more than `max`. Files are tested once each, not per name.
    pub fn subset(&self, keep_path: &dyn Fn(&str) -> bool, max: usize) -> Option<NameIndex> {
        let base = &self.base;
        let mut files = vec![false; base.file_sizes.len()];
        let mut count = 0;
        for (path, &file) in &base.file_paths {
            if base.file_alive(&self.dead, file as usize) && keep_path(path) {
                files[file as usize] = true;
                count += base.file_sizes[file as usize] as usize;
            }
        }
        let overlay: Vec<&FileNames> =
            self.overlay.iter().filter(|(path, _)| keep_path(path)).map(|(_, file)| file.as_ref()).collect();
        count += overlay.iter().map(|file| file.entries.len()).sum::<usize>();
        if count > max {
            return None;
        }
        let mut entries: Vec<NameEntry> = Vec::with_capacity(count);
        for (index, &file) in base.file_of.iter().enumerate() {
            if files[file as usize] {
                entries.push(base.names.entries[index].clone());
            }
        }
        for file in overlay {
            entries.extend(file.entries.iter().cloned());
        }
        Some(NameIndex::new(entries))
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The best `limit` matches for `query`, ranked. An empty query lists types first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<NameMatch> {
        self.search_where(query, limit, &|_| true)
    }

    /// The best `limit` matches among the entries `keep` accepts (e.g. one package's), ranked
    /// as [`NameIndex::search`] ranks them: the limit counts accepted entries only.
    pub fn search_where(&self, query: &str, limit: usize, keep: Keep) -> Vec<NameMatch> {
        self.search_in(query, limit, keep, false)
    }

    /// Like [`NameIndex::search_where`] without scattered matches: a query of three or more
    /// characters must occur in the name (substring or better), a shorter one must start its
    /// words. For millions of dependency names, where a scattered match is noise and finding
    /// them means looking at every name.
    pub fn search_strict(&self, query: &str, limit: usize, keep: Keep) -> Vec<NameMatch> {
        self.search_in(query, limit, keep, true)
    }

    fn search_in(&self, query: &str, limit: usize, keep: Keep, strict: bool) -> Vec<NameMatch> {
        let query = Query::new(query.trim());
        let limit = limit.max(1);
        let mut found = self.base.search(&query, limit, &self.dead, keep, strict);
        for file in self.overlay.values() {
            file.scan(&query, keep, &mut found);
        }
        if strict && !query.text.is_empty() {
            let lowest = strict_tier(&query);
            found.retain(|(_, tier, _)| *tier >= lowest);
        }
        let limit = limit.min(found.len());
        if limit == 0 {
            return Vec::new();
        }
        if limit < found.len() {
            found.select_nth_unstable_by(limit - 1, result_order);
            found.truncate(limit);
        }
        found.sort_by(result_order);
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

    /// The ranking by definition: classify every live name, score, sort.
    fn brute_force(entries: &[NameEntry], query: &str, limit: usize) -> Vec<(String, String, MatchTier)> {
        let prepared = Query::new(query.trim());
        let mut found: Vec<(i64, MatchTier, &NameEntry)> = entries
            .iter()
            .filter_map(|e| {
                let tier = prepared.classify(&e.name, &e.name.to_lowercase(), ascii_word_starts(e.name.as_bytes()))?;
                Some((score(tier, e, prepared.text), tier, e))
            })
            .collect();
        found.sort_by(result_order);
        found.into_iter().take(limit.max(1)).map(|(_, tier, e)| (e.name.clone(), e.path.clone(), tier)).collect()
    }

    fn ranked(index: &NameIndex, query: &str, limit: usize) -> Vec<(String, String, MatchTier)> {
        index.search(query, limit).into_iter().map(|m| (m.entry.name, m.entry.path, m.tier)).collect()
    }

    #[test]
    fn the_indexed_search_ranks_exactly_like_a_full_scan() {
        let parts = ["init", "book", "for", "thread", "pool", "exec", "parse", "cfg", "x", "Ünï", "_", "2"];
        let kinds = ["function", "struct", "method", "constant", "field"];
        let mut rng = crate::synthetic::Rng::new(11);
        let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
        let mut entries = Vec::new();
        for i in 0..4000 {
            let mut name = String::new();
            for w in 0..1 + pick(4) {
                let part = parts[pick(parts.len())];
                let upper = w > 0 && pick(3) > 0 || pick(5) == 0;
                let mut chars = part.chars();
                if upper && let Some(first) = chars.next() {
                    name.extend(first.to_uppercase());
                    name.push_str(chars.as_str());
                } else {
                    name.push_str(part);
                }
            }
            entries.push(entry(&name, kinds[pick(kinds.len())], &format!("dir{}/f{}.rs", i % 7, i % 300)));
        }
        let queries = [
            "", "ibfo", "TPE", "tpe", "x", "xx", "zzz", "parse", "Parse", "pcfg", "ün", "Ünï", "2", "_", "ex", "tp",
            "bookfor", "fo2",
        ];
        let check = |index: &NameIndex, live: &[NameEntry]| {
            // A filtered search ranks as the full scan of the kept entries does.
            let keep = |e: &NameEntry| e.path.starts_with("dir3/");
            let kept: Vec<NameEntry> = live.iter().filter(|e| keep(e)).cloned().collect();
            for query in queries {
                for limit in [1, 7, 50, 5000] {
                    assert_eq!(
                        ranked(index, query, limit),
                        brute_force(live, query, limit),
                        "query {query:?} limit {limit}"
                    );
                    let filtered: Vec<_> = index
                        .search_where(query, limit, &keep)
                        .into_iter()
                        .map(|m| (m.entry.name, m.entry.path, m.tier))
                        .collect();
                    assert_eq!(filtered, brute_force(&kept, query, limit), "kept: query {query:?} limit {limit}");
                    let strict: Vec<_> = index
                        .search_strict(query, limit, &keep)
                        .into_iter()
                        .map(|m| (m.entry.name, m.entry.path, m.tier))
                        .collect();
                    let lowest =
                        if query.is_empty() { MatchTier::Subsequence } else { strict_tier(&Query::new(query)) };
                    let mut expected = brute_force(&kept, query, usize::MAX);
                    expected.retain(|(_, _, tier)| *tier >= lowest);
                    expected.truncate(limit);
                    assert_eq!(strict, expected, "strict: query {query:?} limit {limit}");
                }
            }
        };
        let mut index = NameIndex::new(entries.clone());
        check(&index, &entries);
        // Deltas: replace, add and remove files; the overlay and the dead base files must rank
        // as if the index were rebuilt.
        for round in 0..30 {
            let paths: Vec<String> = (0..1 + pick(40)).map(|_| format!("dir{}/f{}.rs", pick(7), pick(320))).collect();
            entries.retain(|e| !paths.contains(&e.path));
            let mut added = Vec::new();
            for path in &paths {
                for n in 0..pick(4) {
                    added.push(entry(&format!("{}{round}{n}", parts[pick(parts.len())]), "function", path));
                }
            }
            entries.extend(added.iter().cloned());
            index = index.with_files_replaced(&paths, added);
            assert_eq!(index.len(), entries.len());
            check(&index, &entries);
        }
    }

    #[test]
    fn types_win_ties_and_an_empty_query_is_useful() {
        let index = NameIndex::new(vec![entry("Config", "function", "a.rs"), entry("Config", "struct", "b.rs")]);
        let results = index.search("config", 10);
        assert_eq!(results[0].entry.kind, "struct");
        assert_eq!(index.search("", 10).len(), 2);
    }

    #[test]
    fn a_subset_holds_exactly_the_live_names_of_its_files() {
        let index = NameIndex::new(vec![
            entry("Client", "struct", "cargo/reqwest/0.12/src/lib.rs"),
            entry("get", "function", "cargo/reqwest/0.12/src/lib.rs"),
            entry("Builder", "struct", "cargo/reqwest/0.12/src/builder.rs"),
            entry("Client", "struct", "cargo/hyper/1.0/src/client.rs"),
        ]);
        // A commit replaces one file of the package and adds another (the overlay).
        let index = index.with_files_replaced(
            &["cargo/reqwest/0.12/src/builder.rs".into(), "cargo/reqwest/0.12/src/new.rs".into()],
            vec![entry("ClientBuilder", "struct", "cargo/reqwest/0.12/src/new.rs")],
        );
        let reqwest = |path: &str| path.starts_with("cargo/reqwest/0.12/");
        let subset = index.subset(&reqwest, 10).expect("under the limit");
        let mut found: Vec<(String, String)> =
            subset.search("", 10).into_iter().map(|m| (m.entry.name, m.entry.path)).collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("Client".to_string(), "cargo/reqwest/0.12/src/lib.rs".to_string()),
                ("ClientBuilder".to_string(), "cargo/reqwest/0.12/src/new.rs".to_string()),
                ("get".to_string(), "cargo/reqwest/0.12/src/lib.rs".to_string()),
            ]
        );
        // Ranked as the whole index ranks the same names under the same filter.
        let keep = |entry: &NameEntry| reqwest(&entry.path);
        let whole: Vec<NameMatch> = index.search_where("cli", 10, &keep);
        assert_eq!(subset.search("cli", 10), whole);
        assert!(index.subset(&reqwest, 2).is_none(), "three names are more than two");
    }
}
