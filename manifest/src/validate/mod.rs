//! Semantic validation: from the parsed TOML to a [`ValidatedSystem`], collecting every error.
//!
//! Checks run in phases (system, components, endpoints, hypervisor and grants, memory,
//! priorities, then layout and budgets). A phase that finds an invalid value records a located
//! diagnostic and carries on with a harmless fallback, so one run reports as many independent
//! errors as possible; any error makes the result `Err`.

mod components;
mod grants;
mod layout;
mod memory;

use std::ops::Range;

use plan::{KernelRequirements, Role};

use crate::diag::{Diagnostic, ErrorKind, Source};
use crate::model::ValidatedSystem;
use crate::platform::{self, Platform};
use crate::schema::{KindName, RawManifest};
use crate::values::check_name;
use plan::SystemKind;

pub(crate) use components::Comp;
pub(crate) use grants::{Grants, Hv};
pub(crate) use memory::Reg;

/// Byte span in the manifest.
pub(crate) type Span = Range<usize>;

/// Collects diagnostics for one source.
pub(crate) struct Ctx<'a> {
    pub src: &'a Source,
    pub errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Records an error.
    pub fn err(&mut self, kind: ErrorKind, span: Span, message: impl Into<String>) {
        self.errors.push(self.src.error(kind, span, message));
    }

    /// An integer in `lo..=hi`, or an error of `kind` (and `None`).
    pub fn int_in(
        &mut self,
        kind: ErrorKind,
        what: &str,
        value: &toml::Spanned<i64>,
        lo: i64,
        hi: i64,
    ) -> Option<i64> {
        let v = *value.get_ref();
        if (lo..=hi).contains(&v) {
            Some(v)
        } else {
            self.err(
                kind,
                value.span(),
                format!("{what} {v} is out of range {lo}..={hi}"),
            );
            None
        }
    }
}

/// `[system] kind` (product unless it says test), and `expect` only in test systems.
fn check_kind(cx: &mut Ctx<'_>, raw: &RawManifest) -> SystemKind {
    let kind = match raw.system.get_ref().kind.as_ref().map(|k| *k.get_ref()) {
        Some(KindName::Test) => SystemKind::Test,
        Some(KindName::Product) | None => SystemKind::Product,
    };
    if kind == SystemKind::Product {
        for rc in &raw.components {
            if let Some(e) = &rc.get_ref().expect {
                cx.err(
                    ErrorKind::TestOnly,
                    e.span(),
                    "`expect` belongs to test systems: the root task of a product system \
                     judges nothing (add `kind = \"test\"` to [system])",
                );
            }
        }
    }
    kind
}

/// A component the root task may restart must be made again from RAM alone: a region at a
/// fixed physical address (`vm-memory`, a device) cannot be created twice.
fn check_restartable(cx: &mut Ctx<'_>, comps: &[Comp], regions: &[memory::Reg]) {
    for (i, c) in comps.iter().enumerate() {
        let (true, Some(span)) = (c.restarts > 0, &c.restart_span) else {
            continue;
        };
        if let Some(r) = regions.iter().find(|r| r.owner == i && r.paddr.is_some()) {
            cx.err(
                ErrorKind::Restart,
                span.clone(),
                format!(
                    "`{}` cannot be restarted: its region `{}` is at a fixed physical address, \
                     which a new instance could not be given again (use RAM)",
                    c.name, r.name
                ),
            );
        }
    }
}

/// Validates the manifest text of `src`.
pub(crate) fn validate(src: &Source) -> Result<ValidatedSystem, Vec<Diagnostic>> {
    let raw: RawManifest = toml::from_str(src.text()).map_err(|e| vec![src.toml_error(&e)])?;
    let mut cx = Ctx {
        src,
        errors: Vec::new(),
    };

    let (platform, kernel) = check_system(&mut cx, &raw);
    let untrusted_guests = raw
        .system
        .get_ref()
        .kernel
        .as_ref()
        .and_then(|k| k.untrusted_guests.as_ref())
        .filter(|u| *u.get_ref())
        .map(|u| {
            let (line, col) = src.line_col(u.span().start);
            format!("{}:{line}:{col}", src.name())
        });
    let kind = check_kind(&mut cx, &raw);
    let mut comps = components::check_components(&mut cx, &raw);
    let server = check_server_count(&mut cx, &raw, &comps);
    components::check_endpoints(&mut cx, &raw, &mut comps);
    let hv = grants::check_hypervisor(&mut cx, &raw, &platform, &kernel);
    if let Some(hv) = &hv {
        components::cap_to_budgets(&mut comps, hv);
    }
    let grants = grants::check_grants(&mut cx, &raw, &comps, hv.as_ref());
    let mut regions = memory::check_regions(&mut cx, &raw, &comps, &platform);
    check_restartable(&mut cx, &comps, &regions);
    // Out-of-range priorities were replaced by fallbacks; ordering them would only echo that.
    if !cx.errors.iter().any(|d| d.kind == ErrorKind::PriorityRange) {
        components::check_priorities(&mut cx, &comps, hv.as_ref());
    }
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let Some(server) = server else {
        return Err(cx.errors);
    };
    let console = components::add_console(&mut cx, &mut comps, raw.system.get_ref().name.span());
    regions.push(memory::console_region(console, &platform));
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let system = layout::build(
        &mut cx,
        layout::Input {
            file: src.name().to_string(),
            name: raw.system.get_ref().name.get_ref().clone(),
            description: raw.system.get_ref().description.clone(),
            platform,
            kernel,
            untrusted_guests,
            kind,
            comps: &comps,
            server,
            console,
            hv: hv.as_ref(),
            grants: &grants,
            regions: &regions,
        },
    );
    if cx.errors.is_empty() {
        Ok(system)
    } else {
        Err(cx.errors)
    }
}

fn check_system(cx: &mut Ctx<'_>, raw: &RawManifest) -> (Platform, KernelRequirements) {
    let sys = raw.system.get_ref();
    if let Err(why) = check_name(sys.name.get_ref(), 63) {
        cx.err(ErrorKind::BadName, sys.name.span(), format!("system {why}"));
    }
    if let Some(p) = sys
        .platform
        .as_ref()
        .filter(|p| p.get_ref() != platform::QEMU_ARM_VIRT.name)
    {
        cx.err(
            ErrorKind::KernelRequirement,
            p.span(),
            format!(
                "platform `{}` is not supported; the only platform is `{}`",
                p.get_ref(),
                platform::QEMU_ARM_VIRT.name
            ),
        );
    }
    let mut kernel = KernelRequirements {
        hypervisor: true,
        pa_bits: 44,
    };
    let mut platform = platform::QEMU_ARM_VIRT;
    if let Some(k) = &sys.kernel {
        if let Some(h) = &k.hypervisor {
            kernel.hypervisor = *h.get_ref();
        }
        if let Some(bits) = &k.pa_bits {
            match u8::try_from(*bits.get_ref())
                .ok()
                .and_then(platform::for_pa_bits)
            {
                Some(p) => {
                    kernel.pa_bits = *bits.get_ref() as u8;
                    platform = p;
                }
                None => cx.err(
                    ErrorKind::KernelRequirement,
                    bits.span(),
                    format!("pa-bits {} is not supported; use 40 or 44", bits.get_ref()),
                ),
            }
        }
        if let Some(mcs) = k.mcs.as_ref().filter(|m| *m.get_ref()) {
            cx.err(
                ErrorKind::KernelRequirement,
                mcs.span(),
                "MCS kernels are not supported yet (the root task and server use the non-MCS API; \
                 build against the `debug` or `release` kernel configuration)",
            );
        }
    }
    (platform, kernel)
}

fn check_server_count(cx: &mut Ctx<'_>, raw: &RawManifest, comps: &[Comp]) -> Option<usize> {
    let servers: Vec<usize> = comps
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role == Role::Server)
        .map(|(i, _)| i)
        .collect();
    match servers.as_slice() {
        [one] => Some(*one),
        [] => {
            cx.err(
                ErrorKind::ServerCount,
                raw.system.get_ref().name.span(),
                "no component has role = \"server\"; a system needs exactly one",
            );
            None
        }
        [first, rest @ ..] => {
            for &i in rest {
                let msg = format!(
                    "component `{}` is a second server (`{}` is already the server); a system \
                     has exactly one",
                    comps[i].name, comps[*first].name
                );
                cx.err(ErrorKind::ServerCount, comps[i].role_span.clone(), msg);
            }
            None
        }
    }
}

/// Finds the component called `name`, or reports it at `span`.
pub(crate) fn resolve_component(
    cx: &mut Ctx<'_>,
    comps: &[Comp],
    name: &toml::Spanned<String>,
) -> Option<usize> {
    let found = comps.iter().position(|c| c.name == *name.get_ref());
    if found.is_none() {
        let known: Vec<&str> = comps.iter().map(|c| c.name.as_str()).collect();
        cx.err(
            ErrorKind::UnknownComponent,
            name.span(),
            format!(
                "no component is called `{}` (components: {})",
                name.get_ref(),
                known.join(", ")
            ),
        );
    }
    found
}
