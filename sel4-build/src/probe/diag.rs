//! Reads gcc's messages (`-fdiagnostics-plain-output`, `LC_ALL=C`) about a failed probe build
//! and turns each error into the answer of the query whose function it points into.
//!
//! An error whose message says that one of the query's own names is missing ("undeclared",
//! "implicit declaration of function", "unknown type name", "has no member named") makes the
//! query [`Answer::Absent`]; any other error makes it [`Answer::Invalid`] with the message. An
//! error that points into no query's lines (e.g. one inside a header) is unattributed, which
//! the caller reports with the whole compiler output.

use super::cgen::names;
use super::{Answer, Query};

/// One `path:line[:col]: kind: message` line.
struct Line<'a> {
    path: &'a str,
    line: Option<usize>,
    kind: &'a str,
    message: &'a str,
}

fn parse_line(text: &str) -> Option<Line<'_>> {
    let (at, kind) = ["fatal error", "error", "warning", "note"]
        .iter()
        .filter_map(|k| text.find(&format!(": {k}: ")).map(|at| (at, *k)))
        .min_by_key(|(at, _)| *at)?;
    let message = &text[at + kind.len() + 4..];
    let mut parts = text[..at].rsplitn(3, ':');
    let (last, middle) = (parts.next()?, parts.next());
    let (path, line) = match (last.parse::<usize>(), middle.map(str::parse::<usize>)) {
        // path:line:col
        (Ok(_), Some(Ok(line))) => (parts.next()?, Some(line)),
        // path:line
        (Ok(line), _) => (&text[..at - last.len() - 1], Some(line)),
        _ => (&text[..at], None),
    };
    Some(Line {
        path,
        line,
        kind,
        message,
    })
}

/// The name an error message says is missing, if it is that kind of message.
fn missing_name(message: &str) -> Option<&str> {
    let quoted_after = |marker: &str| {
        let rest = &message[message.find(marker)? + marker.len()..];
        rest.split('\'').next()
    };
    quoted_after("has no member named '")
        .or_else(|| quoted_after("implicit declaration of function '"))
        .or_else(|| quoted_after("unknown type name '"))
        .or_else(|| {
            let rest = message.strip_prefix('\'')?;
            let (name, tail) = rest.split_once('\'')?;
            tail.starts_with(" undeclared").then_some(name)
        })
}

/// What the compiler's messages say about the queries.
#[derive(Debug, Default)]
pub struct Attributed {
    /// (query index, answer) for each query an error points into, in query order.
    pub answers: Vec<(usize, Answer)>,
    /// Some error points into no query.
    pub unattributed: bool,
}

/// Attributes the errors of `stderr` to queries: `file` is the probe source's file name and
/// `lines` its (first line, last line, query index) ranges.
pub fn attribute(
    stderr: &str,
    file: &str,
    lines: &[(usize, usize, usize)],
    queries: &[Query],
) -> Attributed {
    // Each error with the notes that follow it.
    let mut groups: Vec<Vec<Line<'_>>> = Vec::new();
    let mut in_error = false;
    for l in stderr.lines().filter_map(parse_line) {
        match l.kind {
            "note" => {
                if let (true, Some(g)) = (in_error, groups.last_mut()) {
                    g.push(l);
                }
            }
            "warning" => in_error = false,
            _ => {
                in_error = true;
                groups.push(vec![l]);
            }
        }
    }
    let in_probe = |l: &Line<'_>| {
        let name = std::path::Path::new(l.path).file_name();
        name.is_some_and(|n| n == file)
    };
    let query_at = |l: &Line<'_>| {
        let n = l.line?;
        in_probe(l)
            .then(|| lines.iter().find(|(a, b, _)| (*a..=*b).contains(&n)))
            .flatten()
            .map(|(_, _, i)| *i)
    };
    let mut out = Attributed::default();
    let mut found: std::collections::BTreeMap<usize, Answer> = Default::default();
    for g in groups {
        let Some(i) = g.iter().find_map(query_at) else {
            out.unattributed = true;
            continue;
        };
        let own = names(&queries[i]);
        let absent = missing_name(g[0].message).is_some_and(|n| own.iter().any(|o| o == n));
        let answer = if absent {
            Answer::Absent
        } else {
            Answer::Invalid(describe(&g, &in_probe))
        };
        match found.get(&i) {
            Some(Answer::Absent) => {}
            Some(Answer::Invalid(_)) if !absent => {}
            _ => {
                found.insert(i, answer);
            }
        }
    }
    out.answers = found.into_iter().collect();
    out
}

/// The error's message, with the header locations its notes point at (not the probe's own
/// macros).
fn describe(group: &[Line<'_>], in_probe: &dyn Fn(&Line<'_>) -> bool) -> String {
    let mut s = group[0].message.to_string();
    if !in_probe(&group[0]) {
        if let Some(n) = group[0].line {
            s.push_str(&format!(" (at {}:{n})", group[0].path));
        }
    }
    for note in &group[1..] {
        if note.message.contains("macro 'PROBE_") {
            continue;
        }
        if let (false, Some(n)) = (in_probe(note), note.line) {
            s.push_str(&format!("; {} ({}:{n})", note.message, note.path));
        }
    }
    s
}
