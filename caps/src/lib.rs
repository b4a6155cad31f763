//! Capabilities and rights: the single source of truth for who may do what.
//!
//! This crate holds
//! - [`Rights`]: Zircon handle rights with their exact bit values (`zircon/rights.h`);
//! - [`ObjType`]: the Zircon object types the VCPU server serves, with their default rights;
//! - [`Operation`]: every operation of the wire protocol, and [`Operation::handle_args`], the one
//!   exhaustive table of the handle arguments each operation takes and the rights each needs;
//! - [`derive_rights`]: the `zx_handle_duplicate` / `zx_handle_replace` rules;
//! - [`sel4`]: the mapping of Zircon rights onto seL4 capability rights, and back;
//! - [`doc`]: the generator of `docs/RIGHTS.md` from these tables.
//!
//! Invariants:
//! - Handlers never name a right; they ask this table (no rights literals outside this crate).
//! - The table is a `match` without a wildcard arm, so a new [`Operation`] does not compile until
//!   it has an entry.
//! - Every mapping is total (defined for every input) and monotone, and never grants more than it
//!   was given; property tests check this.
#![no_std]
#![forbid(unsafe_code)]

pub mod doc;
mod object;
mod operation;
mod rights;
pub mod sel4;

pub use object::ObjType;
pub use operation::{HandleArg, Operation};
pub use rights::{DeriveError, Rights, derive_rights};
