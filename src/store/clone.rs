//! A byte-for-byte copy of a table: what a fresh clone of a repository starts from when the
//! team's table already holds most of its files.

use super::{Result, Store, StoreError, dataset_uri_for};

impl Store {
    /// Copies this table's latest version to `target_uri` (an index location where no table
    /// exists yet): its data, deletion and index files as they are, through Lance's own deep
    /// clone, so nothing is re-encoded and no index is trained again (re-training IVF-PQ and
    /// the full-text index is most of what a row-by-row copy of 100 000 symbols costs).
    pub async fn clone_into(&self, target_uri: &str) -> Result<()> {
        let lance = |source: lancedb::Error| StoreError::Lance {
            operation: "clone table",
            uri: self.uri.clone(),
            source: Box::new(source),
        };
        let dataset = self
            .table
            .dataset()
            .ok_or_else(|| lance(lancedb::Error::NotSupported { message: "not a native Lance table".into() }))?;
        let current = dataset.get().await.map_err(lance)?;
        let mut source = (*current).clone();
        let version = source.version().version;
        source
            .deep_clone(&dataset_uri_for(target_uri), version, None)
            .await
            .map_err(|error| lance(lancedb::Error::from(error)))?;
        Ok(())
    }

    /// Deletes the rows of these file versions (path and content hash), in one commit per
    /// 2 000 versions: what a cloned table holds that the working tree does not.
    pub async fn delete_versions(&self, versions: &[(String, String)]) -> Result<()> {
        for chunk in versions.chunks(2000) {
            self.table.delete(&super::file_version_filter(chunk)).await.map_err(self.lance("delete versions"))?;
        }
        Ok(())
    }
}
