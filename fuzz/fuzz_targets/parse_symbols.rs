//! parse → symbols on arbitrary bytes, in any of the twelve languages (the first byte picks
//! one). Whatever the input, both stages must return — a partial result or a skip reason —
//! without panicking, overflowing the stack or running away.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zenith_syntax::parse::{ParseLimits, parse};
use zenith_syntax::symbols::extract_symbols;

/// One file name per language, in the order of `Language::ALL`.
const NAMES: [&str; 12] =
    ["f.rs", "f.py", "f.js", "f.ts", "f.tsx", "f.go", "F.java", "f.c", "f.cpp", "F.cs", "f.rb", "f.php"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[selector as usize % NAMES.len()];
    let limits = ParseLimits::default();
    if let Ok(parsed) = parse(Path::new(name), bytes, &limits) {
        let extraction = extract_symbols(name, &parsed, "fuzz", 0);
        for symbol in &extraction.symbols {
            // Positions must stay inside the text (what LSP clients index with).
            assert!(symbol.start_line <= symbol.end_line, "{symbol:?}");
        }
    }
});
