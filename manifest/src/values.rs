//! Parsing and checking of scalar values: sizes, names, right names.

use caps::Rights;

use crate::schema::SizeRepr;

/// 4 KiB.
pub const KIB4: u64 = 0x1000;
/// 2 MiB.
pub const MIB2: u64 = 0x20_0000;

/// Bytes denoted by a size value.
pub fn parse_size(size: &SizeRepr) -> Result<u64, String> {
    match size {
        SizeRepr::Int(n) => u64::try_from(*n).map_err(|_| format!("size {n} is negative")),
        SizeRepr::Text(text) => parse_size_text(text),
    }
}

fn parse_size_text(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a size (write e.g. 4096, \"64K\", \"2M\", \"1G\")");
    let (digits, unit) = match t.char_indices().find(|&(_, c)| c.is_ascii_alphabetic()) {
        // A hex number's `x` and digits are not a unit.
        Some(_) if t.starts_with("0x") || t.starts_with("0X") => (t, ""),
        Some((i, _)) => (t[..i].trim_end(), &t[i..]),
        None => (t, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "KiB" | "k" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        _ => return Err(bad()),
    };
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    let value = if let Some(hex) = cleaned
        .strip_prefix("0x")
        .or_else(|| cleaned.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).map_err(|_| bad())?
    } else {
        cleaned.parse::<u64>().map_err(|_| bad())?
    };
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("size `{text}` is too large"))
}

/// Human form of a byte count: `2 MiB`, `64 KiB`, or plain bytes.
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

/// Checks a name: lowercase ASCII letter first, then lowercase letters, digits, `-` or `_`, at
/// most `max` bytes.
pub fn check_name(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is empty".into());
    }
    if name.len() > max {
        return Err(format!(
            "name `{name}` is {} bytes long; at most {max}",
            name.len()
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(format!(
            "name `{name}` must start with a lowercase letter and contain only lowercase letters, \
             digits, `-` and `_`"
        ));
    }
    Ok(())
}

/// Checks a cargo package/binary name.
pub fn check_program(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a cargo package name (letters, digits, `-`, `_`; 1..=64)"
        ))
    }
}

/// The right called `name` (Zircon's name without `ZX_RIGHT_`, e.g. `DUPLICATE`).
pub fn right_by_name(name: &str) -> Option<Rights> {
    let bare = name.strip_prefix("ZX_RIGHT_").unwrap_or(name);
    Rights::NAMED
        .iter()
        .find(|(_, n)| *n == bare)
        .map(|(r, _)| *r)
}

/// `A|B|C` names of a rights set (`NONE` when empty).
pub fn show_rights(rights: Rights) -> String {
    let names: Vec<&str> = Rights::NAMED
        .iter()
        .filter(|(r, _)| rights.contains(*r))
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "NONE".into()
    } else {
        names.join("|")
    }
}

/// `Write|Read|...` names of a `seL4_CapRights` word.
pub fn show_sel4_rights(word: u64) -> String {
    let names: Vec<&str> = caps::sel4::Sel4Rights::NAMED
        .iter()
        .filter(|(r, _)| word & r.word() == r.word() && r.word() != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let s = |t: &str| parse_size(&SizeRepr::Text(t.into()));
        assert_eq!(s("64K"), Ok(0x1_0000));
        assert_eq!(s("2M"), Ok(0x20_0000));
        assert_eq!(s("2 MiB"), Ok(0x20_0000));
        assert_eq!(s("1G"), Ok(1 << 30));
        assert_eq!(s("0x20_0000"), Ok(0x20_0000));
        assert_eq!(s("4096"), Ok(4096));
        assert!(s("2X").is_err());
        assert!(s("").is_err());
        assert!(s("-1").is_err());
        assert!(s("99999999999999999999G").is_err());
        assert!(s("0xFFFFFFFFFFFFFFFFK").is_err());
        assert_eq!(parse_size(&SizeRepr::Int(8192)), Ok(8192));
        assert!(parse_size(&SizeRepr::Int(-4)).is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("vcpu-server", 31).is_ok());
        assert!(check_name("a_1", 31).is_ok());
        assert!(check_name("", 31).is_err());
        assert!(check_name("Server", 31).is_err());
        assert!(check_name("1abc", 31).is_err());
        assert!(check_name("a b", 31).is_err());
        assert!(check_name("abcdefghijklmnop", 15).is_err());
        assert!(check_program("vcpu-server").is_ok());
        assert!(check_program("../evil").is_err());
    }

    #[test]
    fn rights() {
        assert_eq!(right_by_name("DUPLICATE"), Some(Rights::DUPLICATE));
        assert_eq!(right_by_name("ZX_RIGHT_INSPECT"), Some(Rights::INSPECT));
        assert_eq!(right_by_name("SAME_RIGHTS"), None);
        assert_eq!(right_by_name("duplicate"), None);
        assert_eq!(
            show_rights(Rights::DUPLICATE | Rights::WRITE),
            "DUPLICATE|WRITE"
        );
        assert_eq!(show_rights(Rights::NONE), "NONE");
        assert_eq!(show_sel4_rights(0x9), "Write|GrantReply");
    }
}
