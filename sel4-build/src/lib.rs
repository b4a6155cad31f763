//! Host side of an installed seL4 kernel (`SEL4_PREFIX`): configuration check and ABI check.
#![forbid(unsafe_code)]

pub mod abi;
pub mod cexpr;
pub mod client;
pub mod config;
pub mod cpp;
pub mod headers;
pub mod interfaces;
pub mod kconfig;
mod samples;
