//! libsel4's generated invocation stubs (`interfaces/sel4_client.h`), reduced to what the
//! kernel sees: label, number of caps and words, and the expression that fills each cap slot
//! and message register.

use std::collections::BTreeMap;

use crate::cpp::{ParseError, Symbols, preprocess};

/// The marshalling of one `seL4_*` invocation stub.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientFn {
    /// Invocation label enumerator, e.g. `CNodeMint`.
    pub label: String,
    /// extraCaps of the tag.
    pub caps: u64,
    /// length of the tag.
    pub length: u64,
    /// Expression for each cap slot, by index.
    pub cap_args: BTreeMap<usize, String>,
    /// Expression for each message register with a literal index (a `0` filler is omitted).
    pub words: BTreeMap<usize, String>,
}

/// Parses the active stubs of `sel4_client.h`, by function name.
pub fn parse_client(
    file: &str,
    text: &str,
    symbols: &mut Symbols,
) -> Result<BTreeMap<String, ClientFn>, ParseError> {
    let lines = preprocess(file, text, symbols)?;
    let mut out = BTreeMap::new();
    let mut current: Option<(String, ClientFn, bool)> = None;
    for (n, line) in lines {
        let t = line.trim();
        if line.starts_with("seL4_") && t.contains('(') {
            let name = t[..t.find('(').unwrap_or(t.len())].to_string();
            current = Some((name, ClientFn::default(), false));
            continue;
        }
        let Some((name, f, called)) = current.as_mut() else {
            continue;
        };
        if line.starts_with('}') {
            if let Some((name, f, _)) = current.take() {
                out.insert(name, f);
            }
            continue;
        }
        if *called {
            continue;
        }
        let bad = |m: &str| ParseError {
            file: file.into(),
            line: n,
            message: format!("{name}: {m}"),
        };
        if let Some(args) = call_args(t, "seL4_MessageInfo_new(") {
            let [label, _, caps, length] = args.as_slice() else {
                return Err(bad("seL4_MessageInfo_new needs 4 arguments"));
            };
            f.label = label.clone();
            f.caps = caps.parse().map_err(|_| bad("non-literal extraCaps"))?;
            f.length = length.parse().map_err(|_| bad("non-literal length"))?;
        } else if let Some(args) = call_args(t, "seL4_SetCap(") {
            let [i, expr] = args.as_slice() else {
                return Err(bad("seL4_SetCap needs 2 arguments"));
            };
            let i = i.parse().map_err(|_| bad("non-literal cap index"))?;
            f.cap_args.insert(i, expr.clone());
        } else if let Some(args) = call_args(t, "seL4_SetMR(") {
            // Only literal indices; loops (`i + 2`) are checked through the struct order.
            if let [i, expr] = args.as_slice() {
                if let Ok(i) = i.parse::<usize>() {
                    f.words.insert(i, expr.clone());
                }
            }
        } else if t.contains("seL4_CallWithMRs") || t.contains("seL4_Call(") {
            *called = true;
        } else if let Some(rest) = t.strip_prefix("mr") {
            if let Some((idx, expr)) = rest.split_once('=') {
                if let Ok(i) = idx.trim().parse::<usize>() {
                    let expr = expr.trim().trim_end_matches(';').trim();
                    if expr != "0" {
                        f.words.insert(i, expr.to_string());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The top-level comma-separated arguments of the first `prefix...)` call in `line`.
fn call_args(line: &str, prefix: &str) -> Option<Vec<String>> {
    let start = line.find(prefix)? + prefix.len();
    let mut depth = 1usize;
    let mut args = vec![String::new()];
    for c in line[start..].chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(args.into_iter().map(|a| a.trim().to_string()).collect());
                }
            }
            ',' if depth == 1 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(a) = args.last_mut() {
            a.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_client;
    use crate::cpp::Symbols;

    #[test]
    fn reads_tag_caps_and_registers() {
        let text = "LIBSEL4_INLINE seL4_Error\n\
            seL4_CNode_Mint(seL4_CNode _service, seL4_Word dest_index, seL4_CapRights_t rights)\n\
            {\n\tseL4_MessageInfo_t tag = seL4_MessageInfo_new(CNodeMint, 0, 1, 6);\n\
            \tseL4_SetCap(0, src_root);\n\tmr0 = dest_index;\n\tmr1 = (dest_depth & 0xffull);\n\
            \tmr3 = 0;\n\tseL4_SetMR(4, rights.words[0]);\n\
            \tfor (seL4_Word i = 2; i < count; i++) {\n\t\tseL4_SetMR(i + 2, x);\n\t}\n\
            \toutput_tag = seL4_CallWithMRs(_service, tag,\n\t\t&mr0, &mr1, &mr2, &mr3);\n\
            \tif (result != seL4_NoError) {\n\t\tseL4_SetMR(0, mr0);\n\t}\n}\n\
            #ifdef CONFIG_KERNEL_MCS\nseL4_Other(x)\n{\n}\n#endif\n";
        let fns = parse_client("c.h", text, &mut Symbols::default()).expect("ok");
        assert_eq!(fns.len(), 1);
        let f = &fns["seL4_CNode_Mint"];
        assert_eq!((f.label.as_str(), f.caps, f.length), ("CNodeMint", 1, 6));
        assert_eq!(f.cap_args[&0], "src_root");
        assert_eq!(f.words.len(), 3);
        assert_eq!(f.words[&1], "(dest_depth & 0xffull)");
        assert_eq!(f.words[&4], "rights.words[0]");
    }

    #[test]
    fn malformed_stub_is_an_error() {
        let text = "seL4_X(a)\n{\n\ttag = seL4_MessageInfo_new(L, 0, n, 2);\n}\n";
        assert!(parse_client("c.h", text, &mut Symbols::default()).is_err());
    }
}
