//! `docs/PROTOCOL.md` must agree with the code: its summary table and the size limits it states.

use vcpu_protocol::{
    Operation, REPLY_MAX_WORDS, ReplyKind, WRITE_STATE_MAX_BYTES, request_caps, request_words,
};

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md");
    std::fs::read_to_string(path).expect("docs/PROTOCOL.md")
}

#[test]
fn summary_table_matches_the_code() {
    let doc = doc();
    for op in Operation::ALL {
        let req = match op {
            Operation::VcpuWriteState => {
                format!("{} + ceil(buffer_size / 8)", request_words(op))
            }
            _ => request_words(op).to_string(),
        };
        let row = format!(
            "| {} | `{}` | {} | {} | {} |",
            op.label(),
            op.name(),
            req,
            request_caps(op),
            ReplyKind::of(op).words()
        );
        assert!(
            doc.lines().any(|l| l == row),
            "docs/PROTOCOL.md lacks the row {row}"
        );
        let heading = format!("### {} `{}`", op.label(), op.name());
        let listed = doc.lines().any(|l| {
            l.starts_with("### ")
                && (l.starts_with(&heading)
                    || l.contains(&format!(", {} `{}`", op.label(), op.name())))
        });
        assert!(listed, "docs/PROTOCOL.md has no section for {}", op.name());
    }
}

#[test]
fn stated_limits_match_the_code() {
    let doc = doc();
    assert!(doc.contains(&format!("{WRITE_STATE_MAX_BYTES}-byte buffer")));
    assert!(doc.contains(&format!("= {REPLY_MAX_WORDS} words (`REPLY_MAX_WORDS`)")));
    assert!(doc.contains(&format!(
        "at most {} (`MSG_MAX_WORDS`)",
        vcpu_protocol::MSG_MAX_WORDS
    )));
}
