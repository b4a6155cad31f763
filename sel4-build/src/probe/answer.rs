//! Parses the probe program's output: one line per query it asked, `q<index> <kind> ...`, in
//! the formats printed by `c/probe_prelude.h`.

use super::{Answer, Marshalled, Query, SERVICE};

fn number<T: std::str::FromStr>(word: Option<&str>, what: &str) -> Result<T, String> {
    let w = word.ok_or_else(|| format!("no {what}"))?;
    w.parse().map_err(|_| format!("bad {what} `{w}`"))
}

fn int(word: Option<&str>) -> Result<i128, String> {
    let w = word.ok_or("no value")?;
    match w.strip_prefix('-') {
        Some(m) => m.parse::<u64>().map(|v| -i128::from(v)),
        None => w.parse::<u64>().map(i128::from),
    }
    .map_err(|_| format!("bad value `{w}`"))
}

fn list(words: &mut std::str::SplitWhitespace<'_>, what: &str) -> Result<Vec<u64>, String> {
    let n: usize = number(words.next(), &format!("{what} count"))?;
    (0..n).map(|_| number(words.next(), what)).collect()
}

/// The answer of one `call` line (after `call`): a stub that did not make exactly one system
/// call on the service capability is [`Answer::Invalid`].
fn call(words: &mut std::str::SplitWhitespace<'_>) -> Result<Answer, String> {
    let calls: u64 = number(words.next(), "call count")?;
    let dest: u64 = number(words.next(), "destination")?;
    let m = Marshalled {
        label: number(words.next(), "label")?,
        extra_caps: number(words.next(), "extraCaps")?,
        length: number(words.next(), "length")?,
        caps: list(words, "cap")?,
        words: list(words, "word")?,
    };
    Ok(if calls != 1 {
        Answer::Invalid(format!("the stub made {calls} system calls, not 1"))
    } else if dest != SERVICE {
        Answer::Invalid(format!(
            "the stub invoked capability {dest:#x}, not its service {SERVICE:#x}"
        ))
    } else {
        Answer::Call(m)
    })
}

/// Fills `answers` from the program's `output`; every query still unanswered must get exactly
/// one line of the kind it asked for. Errors name the offending line or query.
pub fn parse(
    output: &str,
    queries: &[Query],
    answers: &mut [Option<Answer>],
) -> Result<(), String> {
    let pending: Vec<bool> = answers.iter().map(Option::is_none).collect();
    for line in output.lines() {
        let bad = |why: String| format!("printed `{line}`: {why}");
        let mut words = line.split_whitespace();
        let i: usize = words
            .next()
            .and_then(|w| w.strip_prefix('q'))
            .and_then(|w| w.parse().ok())
            .filter(|&i| i < queries.len() && pending[i])
            .ok_or_else(|| bad("not an answer to an asked query".into()))?;
        if answers[i].is_some() {
            return Err(bad("a second answer".into()));
        }
        let kind = words.next().unwrap_or_default();
        let answer = match (kind, &queries[i]) {
            ("int", Query::Value(_) | Query::Size(_) | Query::Offset(..)) => {
                Answer::Int(int(words.next()).map_err(bad)?)
            }
            ("bits", Query::Bits(..)) => {
                let shift: i64 = number(words.next(), "shift").map_err(bad)?;
                let width: u32 = number(words.next(), "width").map_err(bad)?;
                match u32::try_from(shift) {
                    Ok(s) if width > 0 => Answer::Bits(s, width),
                    _ => Answer::Invalid("the getter reads no bit of the word".into()),
                }
            }
            ("call", Query::Call(..)) => call(&mut words).map_err(bad)?,
            _ => return Err(bad(format!("not an answer to {:?}", queries[i]))),
        };
        if let Some(extra) = words.next() {
            return Err(bad(format!("unexpected `{extra}`")));
        }
        answers[i] = Some(answer);
    }
    match answers.iter().position(Option::is_none) {
        Some(i) => Err(format!("printed no answer to {:?}", queries[i])),
        None => Ok(()),
    }
}
