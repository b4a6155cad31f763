//! `[[memory]]` regions: sizes, alignment, physical ranges, overlap, and build-time placement of
//! `vm-memory` regions that do not fix their address.

use plan::{MAX_REGIONS, MemorySource, Role};

use super::components::size_value;
use super::{Comp, Ctx, Span, resolve_component};
use crate::diag::ErrorKind;
use crate::platform::{Platform, Range};
use crate::schema::{AccessName, RawManifest, SourceName};
use crate::values::{KIB4, MIB2, check_name, show_size};

/// A region after the checks.
pub(crate) struct Reg {
    pub owner: usize,
    pub name: String,
    pub size: u64,
    pub size_span: Span,
    pub page_bits: u8,
    pub source: MemorySource,
    pub paddr: Option<u64>,
    pub paddr_given: bool,
    pub map: bool,
    pub writable: bool,
    pub guest: bool,
    pub preload: Option<String>,
}

/// Where regions with a fixed physical address may lie.
fn allowed(platform: &Platform, source: MemorySource) -> Range {
    match source {
        MemorySource::VmMemory => platform.vm_memory,
        MemorySource::Ram => Range {
            start: platform.ram_reserved.end,
            end: platform.ram.end,
        },
    }
}

pub(crate) fn check_regions(
    cx: &mut Ctx<'_>,
    raw: &RawManifest,
    comps: &[Comp],
    platform: &Platform,
) -> Vec<Reg> {
    let mut regs: Vec<Reg> = Vec::new();
    let mut fixed: Vec<(u64, u64, String)> = Vec::new();
    let mut names: Vec<(String, Span)> = Vec::new();
    for rr in &raw.regions {
        let rr = rr.get_ref();
        let name = rr.name.get_ref().clone();
        if let Err(why) = check_name(&name, plan::bootpage::NAME_LEN - 1) {
            cx.err(ErrorKind::BadName, rr.name.span(), format!("region {why}"));
        }
        if let Some((_, prev)) = names.iter().find(|(n, _)| *n == name) {
            let line = cx.src.line_col(prev.start).0;
            let msg = format!("region `{name}` is already defined on line {line}");
            cx.err(ErrorKind::DuplicateName, rr.name.span(), msg);
        }
        names.push((name.clone(), rr.name.span()));
        let owner = resolve_component(cx, comps, &rr.owner);
        let page = match &rr.page_size {
            None => Some(KIB4),
            Some(p) => match size_value(cx, p) {
                Some(v @ (KIB4 | MIB2)) => Some(v),
                Some(v) => {
                    let msg = format!("page-size {v:#x} is neither \"4K\" nor \"2M\"");
                    cx.err(ErrorKind::InvalidValue, p.span(), msg);
                    None
                }
                None => None,
            },
        };
        let source = match rr.source.unwrap_or(SourceName::Ram) {
            SourceName::Ram => MemorySource::Ram,
            SourceName::VmMemory => MemorySource::VmMemory,
        };
        let range = allowed(platform, source);
        let size = size_value(cx, &rr.size);
        if let (Some(size), Some(page)) = (size, page) {
            if size == 0 || size > range.size() {
                cx.err(
                    ErrorKind::RegionSize,
                    rr.size.span(),
                    format!(
                        "region size {size:#x} must be nonzero and at most {} ({} memory)",
                        show_size(range.size()),
                        source_name(source)
                    ),
                );
            } else if size % page != 0 {
                cx.err(
                    ErrorKind::RegionAlignment,
                    rr.size.span(),
                    format!(
                        "region size {size:#x} is not a multiple of its page size {}",
                        show_size(page)
                    ),
                );
            }
        }
        let mut paddr = None;
        if let Some(phys) = &rr.phys {
            let p = *phys.get_ref();
            let (start, len) = (p as u64, size.unwrap_or(0));
            if p < 0 || !range.contains(start, len.max(1)) {
                cx.err(
                    ErrorKind::RegionRange,
                    phys.span(),
                    format!(
                        "[{p:#x}, +{len:#x}) is outside the {} range [{:#x}, {:#x})",
                        source_name(source),
                        range.start,
                        range.end
                    ),
                );
            } else if page.is_some_and(|page| start % page != 0) {
                let msg = format!(
                    "phys {start:#x} is not aligned to the page size {}",
                    show_size(page.unwrap_or(KIB4))
                );
                cx.err(ErrorKind::RegionAlignment, phys.span(), msg);
            } else {
                if let Some((_, _, other)) = fixed
                    .iter()
                    .find(|(s, l, _)| start < s + l && *s < start + len)
                {
                    let msg =
                        format!("region `{name}` overlaps region `{other}` in physical memory");
                    cx.err(ErrorKind::RegionOverlap, phys.span(), msg);
                }
                fixed.push((start, len, name.clone()));
                paddr = Some(start);
            }
        }
        let preload = check_preload(cx, rr, source, paddr.is_some());
        let guest = rr.guest.as_ref().is_some_and(|g| *g.get_ref());
        if let (Some(g), Some(o)) = (&rr.guest, owner) {
            if *g.get_ref() && comps[o].role != Role::Client {
                let msg = format!(
                    "guest memory must belong to a client (`{}` is not one): clients map it into \
                     their guests",
                    comps[o].name
                );
                cx.err(ErrorKind::RoleMismatch, g.span(), msg);
            }
        }
        if let Some(o) = owner {
            if regs.iter().filter(|r| r.owner == o).count() == MAX_REGIONS {
                let msg = format!("`{}` owns more than {MAX_REGIONS} regions", comps[o].name);
                cx.err(ErrorKind::TooMany, rr.owner.span(), msg);
            }
        }
        regs.push(Reg {
            owner: owner.unwrap_or(0),
            name,
            size: size.unwrap_or(0),
            size_span: rr.size.span(),
            page_bits: if page == Some(MIB2) { 21 } else { 12 },
            source,
            paddr_given: paddr.is_some(),
            paddr,
            map: rr.map.unwrap_or(true),
            writable: rr.access.unwrap_or(AccessName::ReadWrite) == AccessName::ReadWrite,
            guest,
            preload,
        });
    }
    if cx.errors.is_empty() {
        place_vm_memory(cx, &mut regs, &fixed, platform);
    }
    regs
}

/// `preload = "blob"`: the build places a boot-time blob at the region's physical address
/// (QEMU loads it there), so the region must be `vm-memory` (which the kernel never touches) at a
/// fixed `phys`, and the root task must not zero it.
fn check_preload(
    cx: &mut Ctx<'_>,
    rr: &crate::schema::RawRegion,
    source: MemorySource,
    fixed: bool,
) -> Option<String> {
    let blob = rr.preload.as_ref()?;
    let name = blob.get_ref().clone();
    if let Err(why) = check_name(&name, plan::bootpage::NAME_LEN - 1) {
        cx.err(ErrorKind::BadName, blob.span(), format!("preload {why}"));
        return None;
    }
    if source != MemorySource::VmMemory || rr.phys.is_none() {
        let msg = format!(
            "preload `{name}` needs source = \"vm-memory\" and a fixed phys: the blob is placed \
             in physical memory before the kernel starts"
        );
        cx.err(ErrorKind::InvalidValue, blob.span(), msg);
        return None;
    }
    // A phys that failed its own checks was reported there.
    fixed.then_some(name)
}

fn source_name(source: MemorySource) -> &'static str {
    match source {
        MemorySource::Ram => "RAM",
        MemorySource::VmMemory => "vm-memory",
    }
}

/// Gives each `vm-memory` region without a fixed address the lowest free address aligned to its
/// page size, in manifest order (deterministic).
fn place_vm_memory(
    cx: &mut Ctx<'_>,
    regs: &mut [Reg],
    fixed: &[(u64, u64, String)],
    platform: &Platform,
) {
    let mut taken: Vec<(u64, u64)> = fixed.iter().map(|(s, l, _)| (*s, *l)).collect();
    let area = platform.vm_memory;
    for r in regs
        .iter_mut()
        .filter(|r| r.source == MemorySource::VmMemory && r.paddr.is_none())
    {
        let align = 1u64 << r.page_bits;
        let mut at = area.start;
        loop {
            at = at.div_ceil(align) * align;
            if !area.contains(at, r.size) {
                cx.err(
                    ErrorKind::MemoryBudget,
                    r.size_span.clone(),
                    format!(
                        "vm-memory has no free {}-aligned range of {} left for region `{}`",
                        show_size(align),
                        show_size(r.size),
                        r.name
                    ),
                );
                break;
            }
            match taken.iter().find(|(s, l)| at < s + l && *s < at + r.size) {
                Some((s, l)) => at = s + l,
                None => {
                    r.paddr = Some(at);
                    taken.push((at, r.size));
                    break;
                }
            }
        }
    }
}
