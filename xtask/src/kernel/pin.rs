//! The one seL4 source the project builds its kernels from.
//!
//! Why a pin: the `sel4` crate's numbers (invocation labels, object types, message layouts) and
//! every QEMU result recorded in this repository were checked against this commit's headers.
//! seL4 master renumbers labels and changes APIs between releases without notice, so an
//! unpinned build could produce a kernel that disagrees with the bindings. Moving the pin is a
//! deliberate change: update the three constants below, run `make kernel` and `make test` (the
//! ABI test compares every number against the new headers), and record the result.

/// The pinned commit of seL4 (master, 2026-08-06, "debug: print TCB schedule state on all
/// cores"). <https://github.com/seL4/seL4/commit/1326364bc9135d9445d936ebc01e38a402c1f4c6>
pub const SEL4_COMMIT: &str = "1326364bc9135d9445d936ebc01e38a402c1f4c6";

/// The seL4 version at [`SEL4_COMMIT`] (its `VERSION` file).
pub const SEL4_VERSION: &str = "16.0.0-dev";

/// Where the source is fetched from when `SEL4_SRC` is not set.
pub const SEL4_GIT_URL: &str = "https://github.com/seL4/seL4.git";

/// The first 12 hex digits of a commit, as used in cache names and messages.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_is_a_full_commit_hash() {
        assert_eq!(SEL4_COMMIT.len(), 40);
        assert!(SEL4_COMMIT.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(short(SEL4_COMMIT), "1326364bc913");
        assert_eq!(short("abc"), "abc");
    }
}
