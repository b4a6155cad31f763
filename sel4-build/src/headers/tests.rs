use super::{Structs, collect_enums, field_position, parse_pbf};
use crate::cpp::Symbols;

#[test]
fn enums_follow_c_numbering() {
    let mut s = Symbols::default();
    s.define("CONFIG_N", "4");
    let text = "typedef enum { A, B = 5, C, D = B + CONFIG_N, SEL4_FORCE_LONG_ENUM(x), } t;\n\
                enum more { E = D, F };\nenum t value;";
    collect_enums("t.h", text, &mut s).expect("ok");
    for (n, v) in [("A", 0), ("B", 5), ("C", 6), ("D", 9), ("E", 9), ("F", 10)] {
        assert_eq!(s.value(n), Some(v), "{n}");
    }
    assert!(collect_enums("t.h", "enum { X = UNKNOWN };", &mut s).is_err());
}

#[test]
fn struct_layout_follows_c_rules() {
    let mut s = Symbols::default();
    s.define("N", "3");
    let text = "typedef struct r { seL4_Word start; seL4_Word end; } r_t;\n\
                typedef struct d { seL4_Word paddr; seL4_Uint8 a; seL4_Uint8 pad[6]; } d_t;\n\
                struct m { seL4_Uint64 words[1]; }; typedef struct m m_t;\n\
                typedef struct top { m_t tag; seL4_Uint8 b; r_t reg; void *p; d_t list[N]; \
                seL4_Word x, y; } top_t __attribute__((aligned(8)));";
    let mut st = Structs::default();
    st.collect("t.h", text).expect("ok");
    let l = st.layout("top_t", &s).expect("layout");
    let offs: Vec<(&str, u64)> = l.fields.iter().map(|(n, o)| (n.as_str(), *o)).collect();
    assert_eq!(
        offs,
        [
            ("tag", 0),
            ("b", 8),
            ("reg", 16),
            ("p", 32),
            ("list", 40),
            ("x", 88),
            ("y", 96)
        ]
    );
    assert_eq!((l.size, l.align), (104, 8));
    assert!(st.layout("missing", &s).is_err());
}

#[test]
fn pbf_blocks_give_bit_positions() {
    let text = "-- comment\nbase 64\nblock seL4_MessageInfo {\n    field label 52\n    \
                field capsUnwrapped 3\n    field extraCaps 2\n    field length 7\n}\n\
                block R {\n padding 60\n field a 1\n field b 3\n}\n";
    let blocks = parse_pbf("t.pbf", text).expect("ok");
    let mi = &blocks["seL4_MessageInfo"];
    assert_eq!(field_position(mi, "label"), Some((12, 52)));
    assert_eq!(field_position(mi, "capsUnwrapped"), Some((9, 3)));
    assert_eq!(field_position(mi, "length"), Some((0, 7)));
    assert_eq!(field_position(&blocks["R"], "a"), Some((3, 1)));
    assert_eq!(field_position(&blocks["R"], "missing"), None);
    assert!(parse_pbf("t.pbf", "block X {\n field a lots\n}\n").is_err());
}
