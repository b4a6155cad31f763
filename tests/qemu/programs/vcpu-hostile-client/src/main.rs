//! QEMU scenario program `vcpu-hostile-client` (`tests/qemu/vcpu-api.toml`): a client that
//! sends the VCPU server what the client library never would, through raw `seL4_Call`s on its
//! badged endpoint: unknown labels, wrong lengths, random words, random handle values, calls
//! on closed handles, capabilities without the Grant right, a length above the maximum.
//!
//! Each reply is checked against the protocol's own decoder as an oracle: a message
//! `Request::decode` refuses must be answered with exactly that status (one word); a message it
//! accepts must get a well-formed reply for its operation. The server must answer every
//! message and keep serving the other clients (the peer checks that afterwards). The program
//! then sends done tokens to `vcpu-api` and to the peer.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
mod hostile;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "`vcpu-hostile-client` is an seL4 component: build it with --target aarch64-unknown-none"
    );
}
