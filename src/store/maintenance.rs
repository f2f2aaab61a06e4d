//! When a table's indexes are built, extended or compacted: one policy for every table Zenith
//! writes outside the live daemon (`znt index`, a team push, a mirror sync).

use std::time::Duration;

use super::{MIN_ROWS_FOR_VECTOR_INDEX, Result, Store};

/// Past this many fragments a table is compacted (Lance never compacts by itself).
pub const MAX_FRAGMENTS: usize = 32;
/// Past this many rows outside an index (or half the table, if more), the indexes are merged
/// instead of extended.
pub const MAX_UNINDEXED_ROWS: usize = 20_000;

/// How long a local table keeps the versions a compaction replaced: a reader (a DuckDB
/// connection pinned to a version) may still be reading one.
pub const KEEP_VERSIONS: Duration = Duration::from_secs(60);

/// What [`Store::maintain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    /// A missing index was built (the first full-text index, or IVF-PQ once enough rows
    /// carry vectors): the only case that trains from scratch.
    Built,
    /// Fragments were compacted and the indexes merged (centroids kept, nothing retrained).
    Compacted { fragments_removed: usize, fragments_added: usize },
    /// New rows were appended to the search indexes as a delta segment.
    Extended,
}

impl std::fmt::Display for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Maintenance::Built => write!(f, "indexes built"),
            Maintenance::Compacted { fragments_removed, fragments_added } => {
                write!(f, "compacted ({fragments_removed} fragments into {fragments_added}, indexes updated)")
            }
            Maintenance::Extended => write!(f, "indexes updated"),
        }
    }
}

impl Store {
    /// Keeps the table searchable and compact at a cost proportional to what changed. A
    /// rebuild (`refresh_indexes`) retrains IVF-PQ on every vector, ~50 s at 100 000 rows on
    /// two cores, so it runs only when an index is missing; otherwise new rows are appended to
    /// the search indexes (full-text search finds only indexed rows), and past the thresholds
    /// the table is compacted and its indexes merged. Old versions are kept for `keep_versions`
    /// (a reader may still be on one).
    pub async fn maintain(&self, keep_versions: Duration) -> Result<Option<Maintenance>> {
        let stats = self.stats().await?;
        let needs_vector_index = stats.vector_index.is_none() && stats.embedded_rows >= MIN_ROWS_FOR_VECTOR_INDEX;
        if stats.fulltext_index.is_none() || needs_vector_index {
            self.refresh_indexes().await?;
            return Ok(Some(Maintenance::Built));
        }
        let unindexed = [stats.vector_index, stats.fulltext_index]
            .into_iter()
            .flatten()
            .map(|coverage| coverage.unindexed_rows)
            .max()
            .unwrap_or(0);
        // A delta segment is cheap to search; merging is worth its cost once the deltas hold a
        // large share of the table (a branch switch that rewrites a quarter of a 100 000-row
        // table is extended in 0.1 s, where merging takes 2 s).
        if stats.fragments > MAX_FRAGMENTS || unindexed > MAX_UNINDEXED_ROWS.max(stats.rows / 2) {
            let report = self.optimize(keep_versions).await?;
            return Ok(Some(Maintenance::Compacted {
                fragments_removed: report.fragments_removed,
                fragments_added: report.fragments_added,
            }));
        }
        // The search indexes only: extending the scalar ones rewrites them whole (most of a
        // push's bytes); their few new rows are scanned until the next compaction.
        if unindexed > 0 {
            self.update_search_indexes().await?;
            return Ok(Some(Maintenance::Extended));
        }
        Ok(None)
    }
}
