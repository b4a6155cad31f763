//! The VCPU client library. TODO(helper).
#![no_std]
#![forbid(unsafe_code)]
