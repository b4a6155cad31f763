use super::{Condition, invocation_labels, syscall_numbers};
use crate::kconfig::{ConfigValue, KernelConfig};

fn cfg(on: &[&str]) -> KernelConfig {
    let mut c = KernelConfig::default();
    for o in on {
        c.set(o, ConfigValue::Bool(true));
    }
    c
}

fn labels(
    cfg: &KernelConfig,
    generic: &str,
    sel4_arch: &str,
) -> Result<Vec<(String, i128)>, super::XmlError> {
    let wrap = |m: &str| format!("<api>\n{m}\n</api>");
    let (g, s, a) = (wrap(generic), wrap(sel4_arch), wrap(""));
    let files = [
        ("g.xml", g.as_str()),
        ("s.xml", s.as_str()),
        ("a.xml", a.as_str()),
    ];
    let mut v: Vec<(String, i128)> = invocation_labels(cfg, &files)?.into_iter().collect();
    v.sort_by_key(|(_, n)| *n);
    Ok(v)
}

#[test]
fn conditions_evaluate_and_print_like_the_generator() {
    let c = Condition::And(vec![
        Condition::Config("CONFIG_A".into()),
        Condition::Not(Box::new(Condition::Or(vec![
            Condition::Config("CONFIG_B".into()),
            Condition::Config("CONFIG_C".into()),
        ]))),
    ]);
    assert_eq!(
        c.to_string(),
        "(defined(CONFIG_A) && !(defined(CONFIG_B) || defined(CONFIG_C)))"
    );
    assert!(c.holds(&cfg(&["A"])));
    assert!(!c.holds(&cfg(&["A", "C"])));
    assert!(!c.holds(&cfg(&[])));
}

#[test]
fn duplicates_need_the_attribute() {
    let m = r#"<method id="X"/><method id="X" duplicate="true"/><method id="Y"/>"#;
    let v = labels(&cfg(&[]), m, "").expect("explicit duplicate");
    assert!(
        v.contains(&("X".into(), 1)) && v.contains(&("Y".into(), 2)),
        "{v:?}"
    );
    let e = labels(&cfg(&[]), "<method id=\"X\"/>\n<method id=\"X\"/>", "").expect_err("implicit");
    assert_eq!((e.file.as_str(), e.line), ("g.xml", 3));
    assert!(e.message.contains("implicit duplicate method id X"), "{e}");
}

#[test]
fn same_id_under_both_branches_of_a_condition_is_one_label() {
    let m = r#"<method id="X"><condition><config var="CONFIG_M"/></condition></method>
        <method id="Y"/>
        <method id="X"><condition><not><config var="CONFIG_M"/></not></condition></method>"#;
    let off = labels(&cfg(&[]), m, "").expect("ok");
    assert_eq!(&off[1..3], [("Y".into(), 1), ("X".into(), 2)]);
    let on = labels(&cfg(&["M"]), m, "").expect("ok");
    assert_eq!(&on[1..3], [("X".into(), 1), ("Y".into(), 2)]);
    let both = r#"<method id="X"><condition><config var="CONFIG_M"/></condition></method>
        <method id="X"><condition><config var="CONFIG_N"/></condition></method>"#;
    let e = labels(&cfg(&["M", "N"]), both, "").expect_err("active twice");
    assert!(e.message.contains("active twice"), "{e}");
}

#[test]
fn first_arch_label_cannot_be_conditional() {
    let s = r#"<method id="Z"><condition><config var="CONFIG_A"/></condition></method>"#;
    let e = labels(&cfg(&["A"]), "", s).expect_err("conditional first");
    assert_eq!(e.file, "s.xml");
    assert!(e.message.contains("cannot be conditional"), "{e}");
}

#[test]
fn malformed_files_are_located_errors() {
    let bad = [
        ("<method id=\"X\"", "g.xml"),
        ("<method/>", "without an id"),
        (
            "<method id=\"X\"><condition><maybe/></condition></method>",
            "<maybe>",
        ),
        (
            "<method id=\"X\"><condition><config/></condition></method>",
            "without a var",
        ),
        (
            "<method id=\"X\"><condition><not/></condition></method>",
            "<not>",
        ),
        (
            "<method id=\"X\"><condition><and/></condition></method>",
            "empty <and>",
        ),
        (
            "<method id=\"X\"><condition><config var=\"A\"/><config var=\"B\"/></condition></method>",
            "one expression",
        ),
        (
            "<method id=\"X\"><condition/><condition/></method>",
            "more than one",
        ),
    ];
    for (text, expect) in bad {
        let e = labels(&cfg(&[]), text, "").expect_err(text);
        assert!(e.to_string().contains(expect), "{text}: {e}");
        assert!(e.line >= 1, "{text}: {e}");
    }
}

#[test]
fn syscall_file_shape_is_checked() {
    let c = cfg(&["KERNEL_MCS"]);
    let no_mcs =
        "<syscalls><api-master><config><syscall name=\"A\"/></config></api-master></syscalls>";
    let e = syscall_numbers(&c, "s.xml", no_mcs).expect_err("no api-mcs");
    assert!(e.message.contains("expected one <api-mcs>"), "{e}");
    let twice = "<syscalls><api-master><config><syscall name=\"A\"/><syscall name=\"A\"/>\
                 </config></api-master></syscalls>";
    assert!(syscall_numbers(&cfg(&[]), "s.xml", twice).is_err());
    let unnamed = "<syscalls><api-master><config><syscall/></config></api-master></syscalls>";
    assert!(syscall_numbers(&cfg(&[]), "s.xml", unnamed).is_err());
    let two_configs = "<syscalls><api-master><config/><config/></api-master></syscalls>";
    assert!(syscall_numbers(&cfg(&[]), "s.xml", two_configs).is_err());
}
