//! Zenith (`znt`): a code-index daemon for editors.
//!
//! Data flows through the modules in this order (see `docs/architecture.md`):
//!
//! ```text
//!  symbols (the record) ──► store (Lance table: the only writer path)
//!                              │ one commit per delta batch
//!                              ▼
//!  query (DuckDB + lance extension, fresh connection per query) ──► cli
//!  assets: pinned run-time files (the lance extension) fetched into the cache
//! ```

pub mod assets;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod deps;
pub mod embed;
pub mod lsp;
pub mod mcp;
pub mod query;
pub mod store;
pub mod synthetic;
pub mod team;
pub mod watch;

// The pure stages live in their own crate (fuzzable without the storage graph); re-exported
// so that `zenith::parse` and `zenith::symbols` stay the paths used everywhere.
pub use zenith_syntax::{parse, redact, symbols};
