//! The manifest fixtures: every file under `tests/manifests/ok/` (and the real manifests) must
//! validate; every file under `tests/manifests/bad/` must fail with exactly the diagnostics its
//! header announces, one `# expect: <kind> <line>:<col>` line each. Every [`ErrorKind`] that a
//! manifest can produce has a fixture named after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use manifest::{ErrorKind, load};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn tomls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

type Expectation = (ErrorKind, usize, usize);

fn expectations(path: &Path) -> BTreeSet<Expectation> {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let mut out = BTreeSet::new();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let Some(rest) = line.strip_prefix("# expect: ") else {
            continue;
        };
        let (kind, at) = rest
            .split_once(' ')
            .expect("`# expect: <kind> <line>:<col>`");
        let kind = ErrorKind::from_name(kind).unwrap_or_else(|| panic!("unknown kind `{kind}`"));
        let (l, c) = at.split_once(':').expect("<line>:<col>");
        out.insert((kind, l.parse().expect("line"), c.parse().expect("col")));
    }
    out
}

#[test]
fn ok_fixtures_and_real_manifests_validate() {
    let mut files = tomls(&repo().join("tests/manifests/ok"));
    files.extend(tomls(&repo().join("manifests")));
    files.extend(tomls(&repo().join("tests/qemu")));
    assert!(files.len() >= 4, "fixtures missing: {files:?}");
    for file in files {
        if let Err(diags) = load(&file) {
            let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            panic!("{} should validate:\n{}", file.display(), text.join("\n"));
        }
    }
}

#[test]
fn bad_fixtures_fail_exactly_as_announced() {
    let files = tomls(&repo().join("tests/manifests/bad"));
    assert!(files.len() >= ErrorKind::ALL.len() - 1);
    for file in files {
        let expected = expectations(&file);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        let named = stem.split("--").next().expect("stem");
        assert!(
            expected.iter().any(|(k, _, _)| k.name() == named),
            "{}: the file name names a kind it does not expect",
            file.display()
        );
        let diags = match load(&file) {
            Ok(_) => panic!("{} should not validate", file.display()),
            Err(diags) => diags,
        };
        let got: BTreeSet<Expectation> = diags.iter().map(|d| (d.kind, d.line, d.col)).collect();
        let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(got, expected, "{}:\n{}", file.display(), shown.join("\n"));
        for d in &diags {
            let prefix = format!(
                "{}:{}:{}: error[{}]: ",
                file.display(),
                d.line,
                d.col,
                d.kind
            );
            assert!(d.to_string().starts_with(&prefix), "{d}");
        }
    }
}

#[test]
fn every_kind_has_a_fixture() {
    let stems: BTreeSet<String> = tomls(&repo().join("tests/manifests/bad"))
        .iter()
        .filter_map(|p| {
            p.file_stem()?
                .to_str()
                .map(|s| s.split("--").next().unwrap_or(s).to_string())
        })
        .collect();
    for kind in ErrorKind::ALL {
        if *kind == ErrorKind::Io {
            continue;
        }
        assert!(
            stems.contains(kind.name()),
            "no fixture tests/manifests/bad/{}.toml",
            kind.name()
        );
        assert_eq!(ErrorKind::from_name(kind.name()), Some(*kind));
    }
}

#[test]
fn unreadable_file_is_an_io_diagnostic() {
    let diags = load(repo().join("tests/manifests/no-such-file.toml")).expect_err("missing file");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].kind, ErrorKind::Io);
    assert!(
        diags[0]
            .to_string()
            .contains("no-such-file.toml:1:1: error[io]"),
        "{}",
        diags[0]
    );
}
