//! `[system.kernel] untrusted-guests`: the validated system records where the manifest says
//! its guests are untrusted (xtask refuses such a system on a debug kernel).

const BASE: &str = include_str!("../../manifests/default.toml");

#[test]
fn untrusted_guests_is_recorded_with_its_location() {
    let text = BASE.replace(
        "[system.kernel]\nhypervisor = true\n",
        "[system.kernel]\nhypervisor = true\nuntrusted-guests = true\n",
    );
    assert_ne!(
        text, BASE,
        "the default manifest has a [system.kernel] table"
    );
    let system = manifest::load_str("m.toml", &text).expect("valid");
    let line = text
        .lines()
        .position(|l| l.starts_with("untrusted-guests"))
        .expect("inserted")
        + 1;
    assert_eq!(
        system.untrusted_guests.as_deref(),
        Some(format!("m.toml:{line}:20").as_str())
    );
    let trusted = manifest::load_str("m.toml", BASE).expect("valid");
    assert_eq!(trusted.untrusted_guests, None);
    let off = text.replace("untrusted-guests = true", "untrusted-guests = false");
    assert_eq!(
        manifest::load_str("m.toml", &off)
            .expect("valid")
            .untrusted_guests,
        None
    );
}
