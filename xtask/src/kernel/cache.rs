//! The kernel cache: where built kernels, their build trees and their sources live.
//!
//! Layout under the cache root (`$XDG_CACHE_HOME/sel4-vcpu`, else `~/.cache/sel4-vcpu`), never
//! inside the work tree:
//!
//! ```text
//! kernels/<key>/        an install prefix (bin/kernel.elf, libsel4/, support/) + STAMP
//! build/<key>/          its CMake/Ninja build tree and build.log
//! src/<commit>/         a source tree extracted from git (complete once it holds .complete)
//! src/seL4.git          a clone of the public repository, when no SEL4_SRC was given
//! python/               a virtualenv with seL4's build modules, if the system lacks them
//! ```
//!
//! `<key>` is `<config>-<commit12>-<hash>`, where the hash covers the commit and every CMake
//! setting, so two configurations (or one configuration at two commits) never share a
//! directory. An install is complete only when its stamp exists and matches its key.

use std::path::{Path, PathBuf};

use super::configs::KernelConfig;
use super::pin::short;

/// Name of the stamp file written last into a completed install.
pub const STAMP: &str = "sel4-vcpu-kernel.json";

/// Bumped when the build procedure changes so that old installs are rebuilt.
const FORMAT: u32 = 1;

/// The cache root from the environment: `XDG_CACHE_HOME`, else `HOME/.cache`.
pub fn root_from(xdg_cache_home: Option<&str>, home: Option<&str>) -> Result<PathBuf, String> {
    match (xdg_cache_home, home) {
        (Some(x), _) if !x.is_empty() => Ok(Path::new(x).join("sel4-vcpu")),
        (_, Some(h)) if !h.is_empty() => Ok(Path::new(h).join(".cache/sel4-vcpu")),
        _ => Err("neither XDG_CACHE_HOME nor HOME is set: no place for the kernel cache".into()),
    }
}

/// The cache root of this process.
pub fn root() -> Result<PathBuf, String> {
    let x = std::env::var("XDG_CACHE_HOME").ok();
    let h = std::env::var("HOME").ok();
    root_from(x.as_deref(), h.as_deref())
}

/// FNV-1a, 64 bits: a stable fingerprint for cache names (not a security property).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cache key of `config` built from `commit`.
pub fn key(config: &KernelConfig, commit: &str) -> String {
    let mut text = format!("format={FORMAT}\ncommit={commit}\n");
    for (k, v) in config.defines() {
        text.push_str(&format!("{k}={v}\n"));
    }
    format!(
        "{}-{}-{:08x}",
        config.name,
        short(commit),
        fnv1a(text.as_bytes()) as u32
    )
}

/// What a completed install records about itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The cache key it was built under.
    pub key: String,
    /// The configuration name.
    pub config: String,
    /// The seL4 commit it was built from.
    pub commit: String,
    /// Where the source came from (a path or URL), for `--list`.
    pub source: String,
}

impl Stamp {
    /// The stamp as JSON.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "key": self.key,
            "config": self.config,
            "commit": self.commit,
            "source": self.source,
        })
        .to_string()
    }

    /// Parses a stamp; `None` if it is not one.
    pub fn from_json(text: &str) -> Option<Stamp> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let field = |name: &str| v[name].as_str().map(String::from);
        Some(Stamp {
            key: field("key")?,
            config: field("config")?,
            commit: field("commit")?,
            source: field("source")?,
        })
    }

    /// Reads the stamp of the install at `prefix`.
    pub fn read(prefix: &Path) -> Option<Stamp> {
        Stamp::from_json(&std::fs::read_to_string(prefix.join(STAMP)).ok()?)
    }
}

/// The directories of one cached kernel.
#[derive(Debug)]
pub struct Entry {
    /// The cache key.
    pub key: String,
    /// The install prefix (what `SEL4_PREFIX` would name).
    pub install: PathBuf,
    /// The build tree.
    pub build: PathBuf,
}

impl Entry {
    /// The entry of `config` at `commit` under `root`.
    pub fn new(root: &Path, config: &KernelConfig, commit: &str) -> Entry {
        let key = key(config, commit);
        Entry {
            install: root.join("kernels").join(&key),
            build: root.join("build").join(&key),
            key,
        }
    }

    /// Whether a complete install for exactly this key is there.
    pub fn is_complete(&self) -> bool {
        self.install.join("bin/kernel.elf").is_file()
            && Stamp::read(&self.install).is_some_and(|s| s.key == self.key)
    }
}

/// Every complete install under `root`, sorted by key.
pub fn installed(root: &Path) -> Vec<(PathBuf, Stamp)> {
    let Ok(dirs) = std::fs::read_dir(root.join("kernels")) else {
        return Vec::new();
    };
    let mut all: Vec<(PathBuf, Stamp)> = dirs
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter_map(|p| Stamp::read(&p).map(|s| (p, s)))
        .filter(|(p, s)| p.file_name().is_some_and(|n| *n == *s.key))
        .collect();
    all.sort_by(|a, b| a.1.key.cmp(&b.1.key));
    all
}

#[cfg(test)]
mod tests {
    use super::super::configs::CONFIGS;
    use super::super::pin::SEL4_COMMIT;
    use super::*;

    #[test]
    fn root_prefers_xdg_then_home() {
        assert_eq!(
            root_from(Some("/x"), Some("/h")).unwrap(),
            Path::new("/x/sel4-vcpu")
        );
        assert_eq!(
            root_from(Some(""), Some("/h")).unwrap(),
            Path::new("/h/.cache/sel4-vcpu")
        );
        assert!(root_from(None, None).is_err());
    }

    #[test]
    fn keys_differ_per_configuration_and_commit_and_are_stable() {
        let keys: Vec<String> = CONFIGS.iter().map(|c| key(c, SEL4_COMMIT)).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(k.starts_with(&format!("{}-1326364bc913-", CONFIGS[i].name)));
            assert!(keys[i + 1..].iter().all(|o| o != k), "{k} repeated");
        }
        let other = key(&CONFIGS[0], &"0".repeat(40));
        assert_ne!(other, keys[0]);
        assert_eq!(key(&CONFIGS[0], SEL4_COMMIT), keys[0], "deterministic");
    }

    #[test]
    fn stamp_round_trips_and_rejects_garbage() {
        let s = Stamp {
            key: "debug-x-1".into(),
            config: "debug".into(),
            commit: SEL4_COMMIT.into(),
            source: "/src".into(),
        };
        assert_eq!(Stamp::from_json(&s.to_json()), Some(s));
        assert_eq!(Stamp::from_json("{\"key\": 1}"), None);
        assert_eq!(Stamp::from_json("not json"), None);
    }

    #[test]
    fn entry_is_complete_only_with_matching_stamp_and_kernel() {
        let root = std::env::temp_dir().join(format!("xtask-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let e = Entry::new(&root, &CONFIGS[0], SEL4_COMMIT);
        assert!(!e.is_complete());
        std::fs::create_dir_all(e.install.join("bin")).unwrap();
        std::fs::write(e.install.join("bin/kernel.elf"), b"elf").unwrap();
        assert!(!e.is_complete(), "no stamp yet");
        let mut stamp = Stamp {
            key: "another".into(),
            config: "debug".into(),
            commit: SEL4_COMMIT.into(),
            source: "test".into(),
        };
        std::fs::write(e.install.join(STAMP), stamp.to_json()).unwrap();
        assert!(!e.is_complete(), "stamp of another key");
        assert!(
            installed(&root).is_empty(),
            "stamp key must match its directory"
        );
        stamp.key = e.key.clone();
        std::fs::write(e.install.join(STAMP), stamp.to_json()).unwrap();
        assert!(e.is_complete());
        let listed = installed(&root);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1.key, e.key);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
