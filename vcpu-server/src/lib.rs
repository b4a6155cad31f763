//! The VCPU server core. TODO(helper).
#![no_std]
#![forbid(unsafe_code)]
