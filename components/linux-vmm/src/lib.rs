//! A VMM that boots unmodified Linux through the VCPU server.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod blob;
pub mod board;
pub mod fdt;
pub mod gicd;
pub mod image;
pub mod layout;
pub mod pl011;
pub mod psci;

#[cfg(target_os = "none")]
pub mod rt;
