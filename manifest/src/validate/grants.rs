//! `[hypervisor]` (the server's VCPU-making resources) and `[[grant]]` (initial handles).

use caps::Rights;
use plan::{GrantObject, KernelRequirements, MAX_GRANTS, MAX_HANDLES, MAX_UNTYPED, Role};

use super::components::size_value;
use super::{Comp, Ctx, Span, resolve_component};
use crate::diag::ErrorKind;
use crate::model::{Grant, GrantObjectExt, Handle};
use crate::platform::{Platform, SERVER_MIN_BYTES};
use crate::schema::{ObjectName, RawManifest};
use crate::values::{KIB4, check_name, right_by_name, show_rights, show_size};

/// Most VCPUs a server may be budgeted for.
pub const MAX_VCPUS: i64 = 256;

/// `[hypervisor]` after the checks.
pub(crate) struct Hv {
    pub untyped_bytes: u64,
    pub untyped_size_bits: Vec<u8>,
    pub untyped_span: Span,
    pub max_guests: u16,
    pub max_vcpus: u16,
    pub vcpu_priority: u8,
    pub vcpu_priority_span: Span,
    pub gicv: bool,
}

/// The grants, in manifest order.
pub(crate) type Grants = Vec<Grant>;

/// The power-of-two blocks (log2 sizes, largest first) that add up to `bytes`.
pub fn untyped_blocks(bytes: u64) -> Vec<u8> {
    (0..64u8)
        .rev()
        .filter(|b| bytes & (1u64 << b) != 0)
        .collect()
}

pub(crate) fn check_hypervisor(
    cx: &mut Ctx<'_>,
    raw: &RawManifest,
    platform: &Platform,
    kernel: &KernelRequirements,
) -> Option<Hv> {
    let h = raw.hypervisor.as_ref()?.get_ref();
    if !kernel.hypervisor {
        let span = raw
            .system
            .get_ref()
            .kernel
            .as_ref()
            .and_then(|k| k.hypervisor.as_ref())
            .map_or(h.untyped_size.span(), |s| s.span());
        cx.err(
            ErrorKind::KernelRequirement,
            span,
            "the system has a [hypervisor] section, so it needs a kernel with hypervisor support",
        );
    }
    let mut ok = true;
    let bytes = size_value(cx, &h.untyped_size).unwrap_or(0);
    let blocks = untyped_blocks(bytes);
    if bytes == 0 || bytes % KIB4 != 0 || bytes > platform.ram.size() {
        cx.err(
            ErrorKind::HypervisorBudget,
            h.untyped_size.span(),
            format!(
                "untyped-size {bytes:#x} must be a nonzero multiple of 4 KiB, at most {}",
                show_size(platform.ram.size())
            ),
        );
        ok = false;
    } else if blocks.len() > MAX_UNTYPED {
        cx.err(
            ErrorKind::HypervisorBudget,
            h.untyped_size.span(),
            format!(
                "untyped-size {bytes:#x} splits into {} power-of-two blocks; at most {MAX_UNTYPED} \
                 (round it to fewer set bits)",
                blocks.len()
            ),
        );
        ok = false;
    }
    let asids = platform.asids_per_pool as i64;
    let guests = cx.int_in(
        ErrorKind::HypervisorBudget,
        "max-guests",
        &h.max_guests,
        1,
        asids,
    );
    let vcpus = cx.int_in(
        ErrorKind::HypervisorBudget,
        "max-vcpus",
        &h.max_vcpus,
        1,
        MAX_VCPUS,
    );
    let prio = cx.int_in(
        ErrorKind::PriorityRange,
        "vcpu-priority",
        &h.vcpu_priority,
        0,
        254,
    );
    if ok && bytes < SERVER_MIN_BYTES {
        cx.err(
            ErrorKind::HypervisorBudget,
            h.untyped_size.span(),
            format!(
                "untyped-size {} is below the {} the server needs for its own objects \
                 (clients' guests and VCPUs come from their `memory`)",
                show_size(bytes),
                show_size(SERVER_MIN_BYTES)
            ),
        );
    }
    Some(Hv {
        untyped_bytes: bytes,
        untyped_size_bits: blocks,
        untyped_span: h.untyped_size.span(),
        max_guests: guests.unwrap_or(1) as u16,
        max_vcpus: vcpus.unwrap_or(1) as u16,
        vcpu_priority: prio.unwrap_or(0) as u8,
        vcpu_priority_span: h.vcpu_priority.span(),
        gicv: h.gicv.unwrap_or(true),
    })
}

pub(crate) fn check_grants(
    cx: &mut Ctx<'_>,
    raw: &RawManifest,
    comps: &[Comp],
    hv: Option<&Hv>,
) -> Grants {
    let mut grants: Grants = Vec::new();
    for rg in &raw.grants {
        let rg = rg.get_ref();
        let Some(ci) = resolve_component(cx, comps, &rg.client) else {
            continue;
        };
        let c = &comps[ci];
        if c.role != Role::Client {
            cx.err(
                ErrorKind::RoleMismatch,
                rg.client.span(),
                format!("`{}` is not a client; only clients hold handles", c.name),
            );
            continue;
        }
        let object = match rg.object.get_ref() {
            ObjectName::HypervisorResource => GrantObject::HypervisorResource,
        };
        if object == GrantObject::HypervisorResource && hv.is_none() {
            cx.err(
                ErrorKind::GrantWithoutHypervisor,
                rg.object.span(),
                "the hypervisor resource exists only in a system with a [hypervisor] section",
            );
        }
        let (name, name_span) = match &rg.name {
            Some(n) => (n.get_ref().clone(), n.span()),
            None => (object.manifest_name().to_string(), rg.object.span()),
        };
        if let Err(why) = check_name(&name, plan::bootpage::HANDLE_NAME_LEN - 1) {
            cx.err(
                ErrorKind::BadName,
                name_span.clone(),
                format!("grant {why}"),
            );
        }
        let mine: Vec<&Grant> = grants.iter().filter(|g| g.component == ci).collect();
        if mine.iter().any(|g| g.handle.name == name) {
            let msg = format!("`{}` already has a grant called `{name}`", c.name);
            cx.err(ErrorKind::DuplicateName, name_span.clone(), msg);
        }
        let index = mine.len();
        if index == MAX_HANDLES {
            let msg = format!("`{}` has more than {MAX_HANDLES} grants", c.name);
            cx.err(ErrorKind::TooMany, rg.client.span(), msg);
        }
        if grants.len() == MAX_GRANTS {
            let msg = format!("more than {MAX_GRANTS} grants in the system");
            cx.err(ErrorKind::TooMany, rg.client.span(), msg);
        }
        let obj_type = object.obj_type();
        let defaults = obj_type.default_rights();
        let rights = match &rg.rights {
            None => defaults,
            Some(list) => {
                let mut rights = Rights::NONE;
                for r in list.get_ref() {
                    let Some(bit) = right_by_name(r.get_ref()) else {
                        let msg = format!(
                            "unknown right `{}` (use Zircon names such as DUPLICATE, TRANSFER, \
                             WRITE, INSPECT)",
                            r.get_ref()
                        );
                        cx.err(ErrorKind::UnknownRight, r.span(), msg);
                        continue;
                    };
                    if rights.contains(bit) {
                        let msg = format!("right `{}` is listed twice", r.get_ref());
                        cx.err(ErrorKind::DuplicateRight, r.span(), msg);
                    } else if !defaults.contains(bit) {
                        cx.err(
                            ErrorKind::RightsEscalation,
                            r.span(),
                            format!(
                                "right `{}` is not among the default rights of a {} handle ({}); \
                                 a grant can only narrow them",
                                r.get_ref(),
                                obj_type.name(),
                                show_rights(defaults)
                            ),
                        );
                    }
                    rights = rights | bit;
                }
                rights
            }
        };
        grants.push(Grant {
            component: ci,
            client_id: c.client_id.unwrap_or(0),
            handle: Handle {
                name,
                value: plan::grant_handle_value(index),
                object,
                obj_type,
                rights,
            },
        });
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::untyped_blocks;

    #[test]
    fn blocks() {
        assert_eq!(untyped_blocks(12 << 20), vec![23, 22]);
        assert_eq!(untyped_blocks(0x1000), vec![12]);
        assert!(untyped_blocks(0).is_empty());
    }
}
