//! The TOML schema, as serde structs: closed (`deny_unknown_fields`), kebab-case keys, and every
//! value the validator may complain about kept with its source span.
//!
//! Integers are read as `i64` (TOML's integer type) and range-checked by the validator, so that an
//! out-of-range value gets a located, specific diagnostic instead of a generic type error.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawManifest {
    pub system: Spanned<RawSystem>,
    #[serde(default, rename = "component")]
    pub components: Vec<Spanned<RawComponent>>,
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<Spanned<RawEndpoint>>,
    #[serde(default, rename = "memory")]
    pub regions: Vec<Spanned<RawRegion>>,
    pub hypervisor: Option<Spanned<RawHypervisor>>,
    #[serde(default, rename = "grant")]
    pub grants: Vec<Spanned<RawGrant>>,
}

/// `[system]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSystem {
    pub name: Spanned<String>,
    pub kind: Option<Spanned<KindName>>,
    pub description: Option<String>,
    pub platform: Option<Spanned<String>>,
    pub kernel: Option<RawKernel>,
}

/// `kind = ...` of `[system]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindName {
    Product,
    Test,
}

/// `expect = ...` of a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectName {
    Stopped,
}

/// `[system.kernel]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawKernel {
    pub hypervisor: Option<Spanned<bool>>,
    pub pa_bits: Option<Spanned<i64>>,
    pub mcs: Option<Spanned<bool>>,
    pub untrusted_guests: Option<Spanned<bool>>,
}

/// `role = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleName {
    Server,
    Client,
    Isolated,
}

/// `[[component]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawComponent {
    pub name: Spanned<String>,
    pub program: Spanned<String>,
    pub role: Spanned<RoleName>,
    pub description: Option<String>,
    pub client_id: Option<Spanned<i64>>,
    pub priority: Spanned<i64>,
    pub stack_size: Option<Spanned<SizeRepr>>,
    pub heap_size: Option<Spanned<SizeRepr>>,
    pub cspace_bits: Option<Spanned<i64>>,
    pub expect: Option<Spanned<ExpectName>>,
    pub restart: Option<Spanned<String>>,
    pub max_restarts: Option<Spanned<i64>>,
    #[serde(default, rename = "thread")]
    pub threads: Vec<Spanned<RawThread>>,
}

/// `[[component.thread]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawThread {
    pub name: Spanned<String>,
    pub id: Option<Spanned<i64>>,
    pub priority: Option<Spanned<i64>>,
    pub entry: Option<Spanned<i64>>,
    pub stack_size: Option<Spanned<SizeRepr>>,
    pub core: Option<Spanned<i64>>,
    pub budget_us: Option<Spanned<i64>>,
    pub period_us: Option<Spanned<i64>>,
}

/// `[[endpoint]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEndpoint {
    pub client: Spanned<String>,
    pub threads: Option<Vec<Spanned<String>>>,
    pub send_caps: Option<bool>,
    pub send_handles_to: Option<Vec<Spanned<String>>>,
    pub limits: Option<Spanned<RawLimits>>,
}

/// `[endpoint.limits]`: what the client may hold in the server at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    pub handles: Option<Spanned<i64>>,
    pub guests: Option<Spanned<i64>>,
    pub vcpus: Option<Spanned<i64>>,
    pub ports: Option<Spanned<i64>>,
    pub traps: Option<Spanned<i64>>,
    pub mappings: Option<Spanned<i64>>,
    pub memory: Option<Spanned<SizeRepr>>,
}

/// `source = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceName {
    Ram,
    VmMemory,
}

/// `access = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessName {
    #[serde(rename = "r")]
    Read,
    #[serde(rename = "rw")]
    ReadWrite,
}

/// `[[memory]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRegion {
    pub name: Spanned<String>,
    pub owner: Spanned<String>,
    pub size: Spanned<SizeRepr>,
    pub page_size: Option<Spanned<SizeRepr>>,
    pub source: Option<SourceName>,
    pub phys: Option<Spanned<i64>>,
    pub guest: Option<Spanned<bool>>,
    pub map: Option<bool>,
    pub access: Option<AccessName>,
    pub preload: Option<Spanned<String>>,
}

/// `[hypervisor]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHypervisor {
    pub untyped_size: Spanned<SizeRepr>,
    pub max_guests: Spanned<i64>,
    pub max_vcpus: Spanned<i64>,
    pub vcpu_priority: Spanned<i64>,
    pub gicv: Option<bool>,
}

/// `object = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectName {
    HypervisorResource,
}

/// `[[grant]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawGrant {
    pub client: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub object: Spanned<ObjectName>,
    pub rights: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A size: an integer number of bytes, or text such as `"64K"`, `"2M"`, `"0x20_0000"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(
    untagged,
    expecting = "invalid type: expected a size (an integer or text like \"64K\")"
)]
pub enum SizeRepr {
    /// Bytes.
    Int(i64),
    /// Text with an optional unit suffix.
    Text(String),
}
