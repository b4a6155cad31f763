//! The probe against a tiny libsel4 stand-in (`tests/fixtures/mini-libsel4`, compiled with the
//! real host and target compilers), and its message and output readers on given texts.

use super::*;

const MINI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/mini-libsel4/include"
);

fn value(n: &str) -> Query {
    Query::Value(n.to_string())
}

fn sample_call() -> Query {
    Query::Call(
        "seL4_Sample_Stub".into(),
        vec![
            CArg::Word(0x1234),
            CArg::Word(0x1ff), // a seL4_Uint8: C keeps 0xff
            CArg::Struct {
                ty: "seL4_Pair".into(),
                pointer: true,
                fields: vec![("first".into(), 11), ("second".into(), 22)],
            },
            CArg::Struct {
                ty: "seL4_MessageInfo_t".into(),
                pointer: false,
                fields: vec![("words[0]".into(), 0xB)],
            },
            CArg::Word(33),
        ],
    )
}

#[test]
fn answers_values_layouts_bits_and_calls() {
    let queries = [
        value("seL4_First"),
        value("seL4_Second"),
        value("seL4_Negative"),
        value("seL4_Big"),
        value("seL4_Missing"),
        value("seL4_NotConstant"),
        Query::Size("seL4_Pair".into()),
        Query::Offset("seL4_Pair".into(), "second".into()),
        Query::Offset("seL4_Pair".into(), "third".into()),
        Query::Size("seL4_NoSuchType".into()),
        Query::Bits("seL4_MessageInfo".into(), "label".into()),
        Query::Bits("seL4_MessageInfo".into(), "extraCaps".into()),
        Query::Bits("seL4_MessageInfo".into(), "nothing".into()),
        Query::Bits("seL4_Wide".into(), "low".into()),
        sample_call(),
        Query::Call("seL4_Absent_Stub".into(), vec![]),
        Query::Call("seL4_Sample_Stub".into(), vec![CArg::Word(1)]),
        Query::Call("seL4_Twice".into(), vec![]),
        Query::Call("seL4_Elsewhere".into(), vec![]),
    ];
    let answers = probe(Path::new(MINI), &queries).expect("probe runs");
    assert_eq!(answers.len(), queries.len());
    assert_eq!(
        answers[..5],
        [
            Answer::Int(3),
            Answer::Int(4),
            Answer::Int(-5),
            Answer::Int(0xffff_ffff_ffff_ff00),
            Answer::Absent,
        ]
    );
    assert!(
        matches!(&answers[5], Answer::Invalid(m) if m.contains("constant")),
        "{:?}",
        answers[5]
    );
    assert_eq!(
        answers[6..10],
        [
            Answer::Int(16),
            Answer::Int(8),
            Answer::Absent,
            Answer::Absent,
        ]
    );
    assert_eq!(
        answers[10..13],
        [Answer::Bits(8, 56), Answer::Bits(4, 2), Answer::Absent,]
    );
    assert!(
        matches!(&answers[13], Answer::Invalid(m) if m.contains("one-word")),
        "{:?}",
        answers[13]
    );
    assert_eq!(
        answers[14],
        Answer::Call(Marshalled {
            label: 7,
            extra_caps: 1,
            length: 6,
            caps: vec![33],
            words: vec![0x1234, 0xff, 11, 22, 0xB, 0x1235],
        })
    );
    assert_eq!(answers[15], Answer::Absent);
    assert!(
        matches!(&answers[16], Answer::Invalid(m) if m.contains("too few arguments")),
        "{:?}",
        answers[16]
    );
    assert!(
        matches!(&answers[17], Answer::Invalid(m) if m.contains("2 system calls")),
        "{:?}",
        answers[17]
    );
    assert!(
        matches!(&answers[18], Answer::Invalid(m) if m.contains("not its service")),
        "{:?}",
        answers[18]
    );
}

#[test]
fn target_disagreement_is_an_error() {
    // seL4_HostOnly is 1 where the probe's stand-in is included and 2 with the real headers.
    let err = probe(Path::new(MINI), &[value("seL4_HostOnly")]).expect_err("refused");
    let text = err.to_string();
    let ProbeError::Target { kept, .. } = &err else {
        panic!("{text}");
    };
    assert!(text.contains("(seL4_HostOnly) as on the host"), "{text}");
    std::fs::remove_dir_all(kept).expect("clean up");
}

#[test]
fn header_error_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inc = dir.path().join("include");
    for f in [
        "sel4/config.h",
        "sel4/types.h",
        "sel4/functions.h",
        "sel4/sel4_arch/syscalls.h",
        "sel4/sel4.h",
    ] {
        std::fs::create_dir_all(inc.join(f).parent().expect("dir")).expect("mkdir");
        std::fs::copy(Path::new(MINI).join(f), inc.join(f)).expect("copy");
    }
    let sel4 = inc.join("sel4/sel4.h");
    let text = std::fs::read_to_string(&sel4).expect("read");
    std::fs::write(&sel4, text.replace("seL4_Second,", "seL4_Second,,")).expect("write");
    let err = probe(&inc, &[value("seL4_First")]).expect_err("refused");
    let ProbeError::Compile { stderr, kept, .. } = &err else {
        panic!("{err}");
    };
    assert!(stderr.contains("sel4/sel4.h:6:"), "{stderr}");
    assert!(kept.join("probe.c").is_file(), "the probe is kept: {err}");
    std::fs::remove_dir_all(kept).expect("clean up");
}

#[test]
fn names_must_be_identifiers() {
    let err = probe(Path::new(MINI), &[value("1; evil()")]).expect_err("refused");
    assert!(matches!(err, ProbeError::Query(_)), "{err}");
    let bad_member = Query::Call(
        "seL4_Sample_Stub".into(),
        vec![CArg::Struct {
            ty: "seL4_Pair".into(),
            pointer: true,
            fields: vec![("first = 1; x".into(), 1)],
        }],
    );
    assert!(cgen::check(&bad_member).is_err());
    let good = sample_call();
    assert_eq!(cgen::check(&good), Ok(()));
}

#[test]
fn each_query_has_its_own_lines() {
    let queries = [value("a"), Query::Size("b".into()), sample_call()];
    let p = cgen::probe_program(&queries, &[0, 2]);
    let lines: Vec<&str> = p.text.lines().collect();
    assert_eq!(p.lines.len(), 2);
    for (first, last, i) in &p.lines {
        let body = lines[first - 1..*last].join("\n");
        assert!(
            body.starts_with(&format!("static void probe_q{i}(void)")),
            "{body}"
        );
        assert!(body.ends_with('}'), "{body}");
    }
    assert!(!p.text.contains("sizeof(b)"), "query 1 was not asked");
}

#[test]
fn compiler_errors_are_attributed_to_queries() {
    let queries = [
        value("seL4_Gone"),
        Query::Offset("seL4_Pair".into(), "third".into()),
        Query::Call("seL4_Stub".into(), vec![]),
        Query::Offset("seL4_T".into(), "words".into()),
        value("seL4_Other"),
    ];
    let lines = [(3, 6, 0), (8, 11, 1), (13, 18, 2), (20, 23, 3), (25, 28, 4)];
    let stderr = "\
/tmp/p/probe.c: In function 'probe_q0':
/tmp/p/probe.c:5:18: error: 'seL4_Gone' undeclared (first use in this function)
/tmp/p/mock/probe_prelude.h:22:25: note: in definition of macro 'PROBE_INT'
/tmp/p/probe.c:5:5: note: in expansion of macro 'PROBE_INT'
/tmp/p/mock/probe_prelude.h:22:24: error: expression in static assertion is not an integer
/tmp/p/probe.c:5:5: note: in expansion of macro 'PROBE_INT'
/tmp/p/probe.c:10:20: error: 'seL4_Pair' has no member named 'third'
/tmp/p/probe.c:16:11: error: too many arguments to function 'seL4_Stub'
/inc/sel4/sel4.h:40:1: note: declared here
/tmp/p/probe.c:22:20: error: 'seL4_T' {aka 'struct x'} has no member named 'other'
/tmp/p/probe.c:26:9: warning: comparison is always false
cc1: some warnings being treated as errors
";
    let a = diag::attribute(stderr, "probe.c", &lines, &queries);
    assert!(!a.unattributed);
    assert_eq!(a.answers.len(), 4, "{:?}", a.answers);
    assert_eq!(a.answers[0], (0, Answer::Absent));
    assert_eq!(a.answers[1], (1, Answer::Absent));
    assert_eq!(
        a.answers[2],
        (
            2,
            Answer::Invalid(
                "too many arguments to function 'seL4_Stub'; declared here (/inc/sel4/sel4.h:40)"
                    .into()
            )
        )
    );
    // A member the query did not name is missing: not an absence of the query's names.
    assert!(
        matches!(a.answers[3], (3, Answer::Invalid(_))),
        "{:?}",
        a.answers[3]
    );

    let in_header = "\
In file included from /tmp/p/probe.c:1:
/inc/sel4/errors.h:9:21: error: expected identifier before ',' token
";
    let a = diag::attribute(in_header, "probe.c", &lines, &queries);
    assert!(a.unattributed);
    assert!(a.answers.is_empty());
}

#[test]
fn output_lines_are_checked() {
    let queries = [
        value("a"),
        Query::Bits("b".into(), "f".into()),
        sample_call(),
    ];
    let mut answers = vec![None, None, Some(Answer::Absent)];
    answer::parse("q0 int -7\nq1 bits 3 2\n", &queries, &mut answers).expect("parsed");
    assert_eq!(answers[0], Some(Answer::Int(-7)));
    assert_eq!(answers[1], Some(Answer::Bits(3, 2)));

    let fresh = || vec![None, None, None];
    let call_line = format!("q2 call 1 {SERVICE} 7 1 2 1 33 2 5 6");
    let all = format!("q0 int 1\nq1 bits 0 1\n{call_line}\n");
    let mut a = fresh();
    answer::parse(&all, &queries, &mut a).expect("parsed");
    assert_eq!(
        a[2],
        Some(Answer::Call(Marshalled {
            label: 7,
            extra_caps: 1,
            length: 2,
            caps: vec![33],
            words: vec![5, 6],
        }))
    );
    for (text, why) in [
        ("q0 int 1\nq1 bits 0 1\n", "no answer"),
        ("q0 int 1\nq0 int 2\n", "second answer"),
        ("q9 int 1\n", "not an answer"),
        ("q0 bits 1 1\n", "not an answer to"),
        ("q0 int x\n", "bad value"),
        ("q0 int 1 2\n", "unexpected"),
        (
            &format!("q0 int 1\nq1 bits 0 1\n{call_line} 7\n"),
            "unexpected",
        ),
        ("q0 int 1\nq1 bits 0 1\nq2 call 1 5 7 1 2 3 1\n", "no cap"),
    ] {
        let err = answer::parse(text, &queries, &mut fresh()).expect_err(text);
        assert!(err.contains(why), "{text:?}: {err}");
    }
    let mut a = fresh();
    answer::parse(
        "q0 int 1\nq1 bits -1 0\nq2 call 0 5 0 0 0 0 0\n",
        &queries,
        &mut a,
    )
    .expect("parsed");
    assert!(matches!(&a[1], Some(Answer::Invalid(m)) if m.contains("no bit")));
    assert!(matches!(&a[2], Some(Answer::Invalid(m)) if m.contains("0 system calls")));
}
