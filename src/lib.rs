//! auditsweep: finds the traces of attackers who acquire or compromise cloud servers
//! (MITRE ATT&CK T1583.003, T1584.003) in AWS, Azure and GCP audit logs and billing data.
//!
//! The crate is laid out as its pipeline: [`normalize`] reads provider-native records into the
//! one [`schema`]; later stages (baselines, detectors, report, sinks) read only that schema.

pub mod aggregate;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod detect;
pub mod eval;
pub mod lookup;
pub mod normalize;
pub mod output;
pub mod playbook;
pub mod pull;
pub mod ranges;
pub mod redact;
pub mod report;
pub mod run;
pub mod schema;
pub mod sweep;
pub mod terminal;
