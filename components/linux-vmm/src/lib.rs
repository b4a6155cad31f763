//! A VMM that boots unmodified Linux through the VCPU server.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod gicd;
pub mod pl011;
pub mod image;
pub mod blob;
pub mod layout;
pub mod fdt;
pub mod board;
pub mod psci;

#[cfg(target_os = "none")]
pub mod rt;
