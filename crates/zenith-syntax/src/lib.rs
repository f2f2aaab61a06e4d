//! The pure stages of Zenith's data flow: `parse` (bytes → tree-sitter tree, with the guards
//! for binary, huge, non-UTF-8 and slow inputs) and `symbols` (tree → API symbols). No IO, no
//! storage, no protocol: the same input always gives the same output, which is what makes
//! them testable against snapshots and independent parsers, and fuzzable on their own
//! (`fuzz/`).

pub mod parse;
pub mod redact;
pub mod symbols;
