//! Finding the seL4 source to build: `SEL4_SRC` (a checkout, a git directory, or a git URL), or
//! the public repository, always at the pinned commit when the source has it.
//!
//! A local checkout or git directory is only read (`git archive`), never changed. A URL is cloned
//! once into the cache (`src/seL4.git`) and reused. Only `make kernel` and `make run` may reach
//! the network; `make test` builds from local sources only (see [`Network`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::pin::{SEL4_COMMIT, SEL4_GIT_URL, short};

/// Whether a missing source may be fetched over the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Clone a URL source into the cache when needed.
    Allowed,
    /// Use local sources and earlier clones only.
    Offline,
}

/// Where `SEL4_SRC` (or its absence) says the source is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// A local path: a checkout or a git directory.
    Path(PathBuf),
    /// A git URL.
    Url(String),
}

impl Spec {
    /// Reads `SEL4_SRC`'s value; unset or empty means the public repository.
    pub fn from_env_value(value: Option<&str>) -> Spec {
        match value {
            Some(v) if !v.is_empty() => {
                if v.contains("://") || v.starts_with("git@") {
                    Spec::Url(v.to_string())
                } else {
                    Spec::Path(PathBuf::from(v))
                }
            }
            _ => Spec::Url(SEL4_GIT_URL.to_string()),
        }
    }

    /// From this process's environment.
    pub fn from_env() -> Spec {
        Spec::from_env_value(std::env::var("SEL4_SRC").ok().as_deref())
    }

    /// How it is named in messages and stamps.
    pub fn describe(&self) -> String {
        match self {
            Spec::Path(p) => p.display().to_string(),
            Spec::Url(u) => u.clone(),
        }
    }
}

/// A git repository to build from, and the commit chosen.
#[derive(Debug)]
pub struct Resolved {
    /// Its git directory.
    pub git_dir: PathBuf,
    /// The commit that will be built.
    pub commit: String,
    /// Remarks for the user (e.g. the source's HEAD differs from the pin).
    pub notes: Vec<String>,
}

fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir").arg(git_dir);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Runs `cmd`; its trimmed stdout, or its stderr's last line as the error.
fn output(mut cmd: Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.trim().lines().last().unwrap_or("failed").to_string())
    }
}

/// The git directory of `path`: `path` itself if it is a git directory, else the git directory
/// of the checkout whose top level is `path`.
fn git_dir_of(path: &Path) -> Result<PathBuf, String> {
    if !path.is_dir() {
        return Err(format!(
            "SEL4_SRC={} is not a directory (expected an seL4 checkout, git directory or URL)",
            path.display()
        ));
    }
    if path.join(".git").exists() {
        // A checkout (or a worktree, whose .git is a file).
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(path)
            .args(["rev-parse", "--absolute-git-dir"]);
        return output(cmd).map(PathBuf::from).map_err(|e| {
            format!(
                "SEL4_SRC={} is not a usable git checkout: {e}",
                path.display()
            )
        });
    }
    // A git directory (bare or a mirror): it answers for itself.
    let mut cmd = git(path);
    cmd.args(["rev-parse", "--verify", "--quiet", "HEAD"]);
    match path.join("objects").is_dir() && output(cmd).is_ok() {
        true => Ok(path.to_path_buf()),
        false => Err(format!(
            "SEL4_SRC={} is not a git checkout or git directory of seL4",
            path.display()
        )),
    }
}

fn has_commit(git_dir: &Path, commit: &str) -> bool {
    let mut cmd = git(git_dir);
    cmd.args(["cat-file", "-e", &format!("{commit}^{{commit}}")]);
    output(cmd).is_ok()
}

/// Chooses the commit to build from `git_dir`: the pin if it has it, else its HEAD (with a
/// warning). Notes say when HEAD and the pin differ.
pub fn choose_commit(git_dir: &Path, what: &str) -> Result<Resolved, String> {
    let mut head = git(git_dir);
    head.args(["rev-parse", "HEAD"]);
    let head = output(head).map_err(|e| format!("{what}: cannot read HEAD: {e}"))?;
    let mut notes = Vec::new();
    let commit = if has_commit(git_dir, SEL4_COMMIT) {
        if head != SEL4_COMMIT {
            notes.push(format!(
                "{what}: HEAD is {}, the pin is {}; building the pinned commit",
                short(&head),
                short(SEL4_COMMIT)
            ));
        }
        SEL4_COMMIT.to_string()
    } else {
        notes.push(format!(
            "warning: {what} does not contain the pinned commit {}; building its HEAD {} \
             instead, which the project has not been tested with",
            short(SEL4_COMMIT),
            short(&head)
        ));
        head
    };
    Ok(Resolved {
        git_dir: git_dir.to_path_buf(),
        commit,
        notes,
    })
}

/// The commit a build from `spec` would use, found without the network; `None` when only a
/// clone could tell (a URL not cloned yet: then the pin is what a clone would give).
pub fn intended_commit(spec: &Spec, cache_root: &Path) -> Result<String, String> {
    match spec {
        Spec::Path(p) => Ok(choose_commit(&git_dir_of(p)?, &spec.describe())?.commit),
        Spec::Url(_) => {
            let mirror = cache_root.join("src/seL4.git");
            match mirror.is_dir() && !has_commit(&mirror, SEL4_COMMIT) {
                true => Ok(choose_commit(&mirror, "the cached clone")?.commit),
                false => Ok(SEL4_COMMIT.to_string()),
            }
        }
    }
}

/// Finds (and for a URL, clones or updates) the repository of `spec`.
pub fn resolve(spec: &Spec, cache_root: &Path, network: Network) -> Result<Resolved, String> {
    let url = match spec {
        Spec::Path(p) => return choose_commit(&git_dir_of(p)?, &spec.describe()),
        Spec::Url(u) => u,
    };
    let mirror = cache_root.join("src/seL4.git");
    if mirror.is_dir() && has_commit(&mirror, SEL4_COMMIT) {
        return choose_commit(&mirror, "the cached clone");
    }
    if network == Network::Offline {
        return Err(format!(
            "no seL4 source: SEL4_SRC is not set and the pinned commit is not in the cache \
             ({}); set SEL4_SRC to a local seL4 checkout or git directory, or run `make kernel` \
             (clones {url}), or set SEL4_PREFIX to an installed kernel",
            mirror.display()
        ));
    }
    std::fs::create_dir_all(cache_root.join("src")).map_err(|e| format!("{e}"))?;
    let mut cmd = Command::new("git");
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    if mirror.is_dir() {
        println!("xtask: kernel: fetching {url} into {}", mirror.display());
        cmd.arg("--git-dir").arg(&mirror).args([
            "fetch",
            "--quiet",
            url,
            "+refs/heads/*:refs/heads/*",
        ]);
    } else {
        println!("xtask: kernel: cloning {url} into {}", mirror.display());
        cmd.args(["clone", "--quiet", "--bare", url]).arg(&mirror);
    }
    output(cmd).map_err(|e| {
        format!(
            "cannot fetch seL4 from {url} ({e}); offline? Set SEL4_SRC to a local seL4 \
             checkout or git directory, or SEL4_PREFIX to an installed kernel"
        )
    })?;
    choose_commit(&mirror, "the clone")
}

/// Extracts `resolved.commit` into `<cache>/src/<commit>/` (once) and returns that directory.
pub fn extract(resolved: &Resolved, cache_root: &Path) -> Result<PathBuf, String> {
    let dir = cache_root.join("src").join(&resolved.commit);
    let done = dir.join(".complete");
    if done.is_file() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tar = cache_root
        .join("src")
        .join(format!("{}.tar", resolved.commit));
    let mut archive = git(&resolved.git_dir);
    archive
        .args(["archive", "--format=tar", "-o"])
        .arg(&tar)
        .arg(&resolved.commit);
    output(archive).map_err(|e| format!("git archive of {}: {e}", short(&resolved.commit)))?;
    let mut untar = Command::new("tar");
    untar.arg("-xf").arg(&tar).arg("-C").arg(&dir);
    let status = untar.status().map_err(|e| format!("cannot run tar: {e}"))?;
    let _ = std::fs::remove_file(&tar);
    if !status.success() {
        return Err(format!(
            "unpacking the seL4 source into {} failed",
            dir.display()
        ));
    }
    std::fs::write(&done, &resolved.commit).map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_from_env_value() {
        assert_eq!(
            Spec::from_env_value(None),
            Spec::Url(SEL4_GIT_URL.to_string())
        );
        assert_eq!(
            Spec::from_env_value(Some("")),
            Spec::Url(SEL4_GIT_URL.to_string())
        );
        assert_eq!(
            Spec::from_env_value(Some("/src/seL4")),
            Spec::Path("/src/seL4".into())
        );
        assert_eq!(
            Spec::from_env_value(Some("https://example.org/seL4.git")),
            Spec::Url("https://example.org/seL4.git".into())
        );
        assert_eq!(
            Spec::from_env_value(Some("git@host:seL4.git")),
            Spec::Url("git@host:seL4.git".into())
        );
    }

    /// A throw-away repository with two commits; returns (dir, first, second).
    fn repo(name: &str) -> (PathBuf, String, String) {
        let dir = std::env::temp_dir().join(format!("xtask-src-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(&dir)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        run(&["init", "-q"]);
        std::fs::write(dir.join("VERSION"), "1\n").unwrap();
        run(&["add", "."]);
        run(&["commit", "-qm", "one"]);
        let first = run(&["rev-parse", "HEAD"]);
        std::fs::write(dir.join("VERSION"), "2\n").unwrap();
        run(&["commit", "-qam", "two"]);
        let second = run(&["rev-parse", "HEAD"]);
        (dir, first, second)
    }

    #[test]
    fn a_checkout_without_the_pin_builds_head_with_a_warning_and_extracts_it() {
        let (dir, _, head) = repo("nopin");
        let spec = Spec::Path(dir.clone());
        let cache = dir.join("cache");
        let r = resolve(&spec, &cache, Network::Offline).unwrap();
        assert_eq!(r.commit, head);
        assert_eq!(r.notes.len(), 1);
        assert!(
            r.notes[0].contains("does not contain the pinned commit"),
            "{:?}",
            r.notes
        );
        assert_eq!(intended_commit(&spec, &cache).unwrap(), head);
        let tree = extract(&r, &cache).unwrap();
        assert_eq!(
            std::fs::read_to_string(tree.join("VERSION")).unwrap(),
            "2\n"
        );
        assert!(
            extract(&r, &cache).is_ok(),
            "second extraction reuses the tree"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_subdirectory_of_a_repository_is_not_a_source() {
        let (dir, _, _) = repo("subdir");
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let e = resolve(&Spec::Path(sub), &dir, Network::Offline).unwrap_err();
        assert!(e.contains("is not a git checkout"), "{e}");
        let e = resolve(&Spec::Path(dir.join("absent")), &dir, Network::Offline).unwrap_err();
        assert!(e.contains("is not a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn offline_without_source_says_how_to_fix_it() {
        let cache = std::env::temp_dir().join(format!("xtask-src-none-{}", std::process::id()));
        let e = resolve(&Spec::from_env_value(None), &cache, Network::Offline).unwrap_err();
        assert!(e.contains("SEL4_SRC") && e.contains("make kernel"), "{e}");
        assert!(e.contains("SEL4_PREFIX"), "{e}");
        assert_eq!(
            intended_commit(&Spec::from_env_value(None), &cache).unwrap(),
            SEL4_COMMIT
        );
    }
}
