//! The kernel configuration as the install records it: `libsel4/include/kernel/gen_config.json`
//! and `libsel4/include/sel4/gen_config.json`, read with `serde_json`.
//!
//! Each file is one JSON object mapping an option name without its `CONFIG_` prefix to `true`,
//! `false` or a string (numbers are strings, e.g. `"MAX_NUM_NODES": "1"`). seL4's
//! `gen_config.h` defines `CONFIG_<name>` exactly for the `true` and string entries, so
//! [`KernelConfig::is_defined`] is what `defined(CONFIG_<name>)` means in libsel4's headers and
//! in the `<config var=...>` conditions of its XML interface files.

use std::collections::BTreeMap;

/// A merged configuration: option name (without `CONFIG_`) to value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelConfig {
    values: BTreeMap<String, ConfigValue>,
}

/// One option's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigValue {
    /// A boolean option.
    Bool(bool),
    /// A string or numeric option (always defined in C, possibly empty).
    Text(String),
}

fn strip(name: &str) -> &str {
    name.strip_prefix("CONFIG_").unwrap_or(name)
}

impl KernelConfig {
    /// Adds the options of one `gen_config.json` text; later files override earlier ones.
    ///
    /// Errors (as text, for the caller to locate) if the text is not a JSON object of booleans
    /// and strings.
    pub fn add_json(&mut self, bytes: &[u8]) -> Result<(), String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let obj = v.as_object().ok_or("not a JSON object")?;
        for (name, value) in obj {
            let value = match value {
                serde_json::Value::Bool(b) => ConfigValue::Bool(*b),
                serde_json::Value::String(s) => ConfigValue::Text(s.clone()),
                serde_json::Value::Number(n) => ConfigValue::Text(n.to_string()),
                other => return Err(format!("option {name} has unsupported value {other}")),
            };
            self.values.insert(name.clone(), value);
        }
        Ok(())
    }

    /// Sets one option (for tests and callers that build a configuration by hand).
    pub fn set(&mut self, name: &str, value: ConfigValue) {
        self.values.insert(strip(name).to_string(), value);
    }

    /// True if the C macro `CONFIG_<name>` exists: a `true` or any string option.
    /// `name` may carry the `CONFIG_` prefix.
    pub fn is_defined(&self, name: &str) -> bool {
        matches!(
            self.values.get(strip(name)),
            Some(ConfigValue::Bool(true) | ConfigValue::Text(_))
        )
    }

    /// The C macro body of `CONFIG_<name>`, if defined: `1` for `true`, else the string.
    pub fn macro_body(&self, name: &str) -> Option<&str> {
        match self.values.get(strip(name))? {
            ConfigValue::Bool(true) => Some("1"),
            ConfigValue::Bool(false) => None,
            ConfigValue::Text(s) => Some(s),
        }
    }

    /// The text of a string option.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(strip(name))? {
            ConfigValue::Text(s) => Some(s),
            ConfigValue::Bool(_) => None,
        }
    }

    /// A numeric option (decimal or `0x` hex string).
    pub fn number(&self, name: &str) -> Option<u64> {
        let t = self.text(name)?.trim();
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => t.parse().ok(),
        }
    }

    /// Every defined `CONFIG_<name>` macro with its body, for the header preprocessor.
    pub fn macros(&self) -> impl Iterator<Item = (String, &str)> {
        self.values
            .keys()
            .filter_map(|k| Some((format!("CONFIG_{k}"), self.macro_body(k)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::{ConfigValue, KernelConfig};

    #[test]
    fn json_values_follow_gen_config_h_semantics() {
        let mut c = KernelConfig::default();
        c.add_json(br#"{"A": true, "B": false, "N": "4", "E": "", "H": "0x10"}"#)
            .expect("valid");
        c.add_json(br#"{"B": true}"#).expect("valid");
        assert!(c.is_defined("A") && c.is_defined("CONFIG_A"));
        assert!(c.is_defined("B"), "later file overrides");
        assert!(c.is_defined("E"), "an empty string option is still defined");
        assert!(!c.is_defined("MISSING"));
        assert_eq!(c.macro_body("CONFIG_A"), Some("1"));
        assert_eq!(
            (c.number("N"), c.number("H"), c.number("A")),
            (Some(4), Some(16), None)
        );
        c.set("CONFIG_A", ConfigValue::Bool(false));
        assert!(!c.is_defined("A"));
        let macros: Vec<(String, &str)> = c.macros().collect();
        assert!(macros.contains(&("CONFIG_N".to_string(), "4")));
        assert!(!macros.iter().any(|(n, _)| n == "CONFIG_A"));
    }

    #[test]
    fn malformed_json_is_an_error() {
        let mut c = KernelConfig::default();
        assert!(c.add_json(b"[1]").is_err());
        assert!(c.add_json(b"{\"A\": [1]}").is_err());
        assert!(c.add_json(b"{").is_err());
    }
}
