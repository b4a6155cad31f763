//! `docs/RIGHTS.md` must be exactly what `caps::doc` generates from the tables.
//! Run with `UPDATE_DOCS=1` to rewrite it.

use std::path::PathBuf;

#[test]
fn rights_md_is_current() {
    let mut generated = String::new();
    caps::doc::write_rights_markdown(&mut generated).expect("writing to a String cannot fail");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/RIGHTS.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/RIGHTS.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/RIGHTS.md is stale or missing; regenerate it with `{}`",
        caps::doc::REGENERATE
    );
}

#[test]
fn every_operation_and_type_is_documented() {
    let mut doc = String::new();
    caps::doc::write_rights_markdown(&mut doc).unwrap();
    for op in caps::Operation::ALL {
        assert!(doc.contains(&format!("`{}`", op.name())), "{op:?} missing");
    }
    for t in caps::ObjType::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", t.name())),
            "{t:?} missing"
        );
    }
    for kind in caps::sel4::CapKind::ALL {
        assert!(
            doc.contains(&format!("| {} |", kind.name())),
            "{kind:?} missing"
        );
    }
}
