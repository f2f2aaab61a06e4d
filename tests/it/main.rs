//! The single integration-test binary (one binary links the dependency graph once).
//!
//! Every test here uses the real parts: Lance tables on disk, DuckDB with the real lance
//! extension, a real S3-compatible server (moto) on loopback started by the harness itself.

mod build;
mod cli;
mod daemon;
mod deps;
mod differential;
mod embed;
mod index;
mod query;
mod s3;
mod store;
mod support;
mod team;
mod trust;
