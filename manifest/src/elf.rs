//! Build-time check of a component ELF against the conventions the root task relies on
//! (`plan::vspace`): a static AArch64 executable whose loadable segments lie inside the image
//! window, do not overlap, and fit the RAM the budget assumed for them.

use std::fmt;

use plan::vspace::{IMAGE_END, IMAGE_START, PAGE_SIZE};

use crate::platform::ELF_ALLOWANCE;

/// What [`check_elf`] learnt about an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfSummary {
    /// Entry point.
    pub entry: u64,
    /// Number of `PT_LOAD` segments.
    pub segments: usize,
    /// Lowest loaded address, rounded down to a page.
    pub start: u64,
    /// End of the highest loaded byte, rounded up to a page.
    pub end: u64,
}

/// Why an ELF does not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfError {
    /// The program.
    pub program: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ELF of `{}`: {}", self.program, self.message)
    }
}

impl std::error::Error for ElfError {}

const PT_LOAD: u32 = 1;
const EM_AARCH64: u16 = 183;
const ET_EXEC: u16 = 2;
const PF_X: u32 = 1;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Checks the ELF image of `program`.
pub fn check_elf(program: &str, bytes: &[u8]) -> Result<ElfSummary, ElfError> {
    let fail = |message: String| ElfError {
        program: program.to_string(),
        message,
    };
    let truncated = || fail("truncated ELF".into());
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(fail("not an ELF file".into()));
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err(fail("not a 64-bit little-endian ELF".into()));
    }
    let machine = u16_at(bytes, 18).ok_or_else(truncated)?;
    if machine != EM_AARCH64 {
        return Err(fail(format!(
            "machine {machine} is not AArch64 ({EM_AARCH64})"
        )));
    }
    if u16_at(bytes, 16).ok_or_else(truncated)? != ET_EXEC {
        return Err(fail(
            "not a static executable (ET_EXEC); link with a fixed address".into(),
        ));
    }
    let entry = u64_at(bytes, 24).ok_or_else(truncated)?;
    let phoff = u64_at(bytes, 32).ok_or_else(truncated)?;
    let phentsize = u16_at(bytes, 54).ok_or_else(truncated)? as u64;
    let phnum = u16_at(bytes, 56).ok_or_else(truncated)? as u64;
    if phentsize < 56 {
        return Err(fail(format!("program header size {phentsize} is below 56")));
    }
    let mut loads: Vec<(u64, u64, bool)> = Vec::new();
    for i in 0..phnum {
        let off = phoff.checked_add(i * phentsize).ok_or_else(truncated)?;
        let off = usize::try_from(off).map_err(|_| truncated())?;
        if u32_at(bytes, off).ok_or_else(truncated)? != PT_LOAD {
            continue;
        }
        let flags = u32_at(bytes, off + 4).ok_or_else(truncated)?;
        let file_off = u64_at(bytes, off + 8).ok_or_else(truncated)?;
        let vaddr = u64_at(bytes, off + 16).ok_or_else(truncated)?;
        let filesz = u64_at(bytes, off + 32).ok_or_else(truncated)?;
        let memsz = u64_at(bytes, off + 40).ok_or_else(truncated)?;
        if memsz == 0 {
            continue;
        }
        let in_file = file_off
            .checked_add(filesz)
            .is_some_and(|end| end <= bytes.len() as u64);
        if filesz > memsz || !in_file {
            return Err(fail(format!(
                "segment at {vaddr:#x} has bad file or memory size"
            )));
        }
        let end = vaddr
            .checked_add(memsz)
            .ok_or_else(|| fail("segment wraps".into()))?;
        if vaddr < IMAGE_START || end > IMAGE_END {
            return Err(fail(format!(
                "segment [{vaddr:#x}, {end:#x}) is outside the image window [{IMAGE_START:#x}, \
                 {IMAGE_END:#x})"
            )));
        }
        let (start, end) = (
            vaddr / PAGE_SIZE * PAGE_SIZE,
            end.div_ceil(PAGE_SIZE) * PAGE_SIZE,
        );
        if let Some(&(s, e, _)) = loads.iter().find(|(s, e, _)| start < *e && *s < end) {
            return Err(fail(format!(
                "segments [{s:#x}, {e:#x}) and [{start:#x}, {end:#x}) share a page"
            )));
        }
        loads.push((start, end, flags & PF_X != 0));
    }
    let Some(start) = loads.iter().map(|l| l.0).min() else {
        return Err(fail("no loadable segment".into()));
    };
    let end = loads.iter().map(|l| l.1).max().unwrap_or(start);
    if !loads.iter().any(|&(s, e, x)| x && (s..e).contains(&entry)) {
        return Err(fail(format!(
            "entry {entry:#x} is not in an executable segment"
        )));
    }
    let pages: u64 = loads.iter().map(|(s, e, _)| e - s).sum();
    if pages > ELF_ALLOWANCE {
        return Err(fail(format!(
            "loaded segments take {pages:#x} bytes; the RAM budget allows {ELF_ALLOWANCE:#x}"
        )));
    }
    Ok(ElfSummary {
        entry,
        segments: loads.len(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF: header, `segs` program headers (vaddr, memsz, flags), 64 bytes of data.
    fn elf(entry: u64, segs: &[(u64, u64, u32)]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 * segs.len() + 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        b[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, &(vaddr, memsz, flags)) in segs.iter().enumerate() {
            let o = 64 + 56 * i;
            b[o..o + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            b[o + 4..o + 8].copy_from_slice(&flags.to_le_bytes());
            b[o + 8..o + 16].copy_from_slice(&((64 + 56 * segs.len()) as u64).to_le_bytes());
            b[o + 16..o + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[o + 32..o + 40].copy_from_slice(&16u64.to_le_bytes());
            b[o + 40..o + 48].copy_from_slice(&memsz.to_le_bytes());
        }
        b
    }

    #[test]
    fn accepts_a_well_formed_image() {
        let image = elf(0x20_0000, &[(0x20_0000, 0x1800, 5), (0x20_2000, 0x3000, 6)]);
        let s = check_elf("p", &image).expect("valid");
        assert_eq!(
            (s.entry, s.segments, s.start, s.end),
            (0x20_0000, 2, 0x20_0000, 0x20_5000)
        );
    }

    #[test]
    fn refuses_what_the_root_task_cannot_load() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not an elf".to_vec(), "not an ELF"),
            (
                elf(0x20_0000, &[(0x20_0000, 0x1000, 5)])[..40].to_vec(),
                "truncated",
            ),
            (elf(0x20_0000, &[]), "no loadable"),
            (
                elf(0x1000_0000, &[(0x1000_0000, 0x1000, 5)]),
                "outside the image window",
            ),
            (elf(0x0, &[(0x0, 0x1000, 5)]), "outside the image window"),
            (
                elf(0x20_0000, &[(0x20_0000, 0x1800, 5), (0x20_1000, 0x10, 6)]),
                "share a page",
            ),
            (
                elf(0x30_0000, &[(0x20_0000, 0x1000, 5)]),
                "not in an executable segment",
            ),
            (
                elf(0x20_0000, &[(0x20_0000, 0x1000, 6)]),
                "not in an executable segment",
            ),
            (elf(0x20_0000, &[(0x20_0000, 0x80_0000, 5)]), "RAM budget"),
        ];
        for (image, why) in cases {
            let err = check_elf("p", &image).expect_err(why);
            assert!(err.message.contains(why), "{err} (expected {why})");
        }
        let mut wrong_machine = elf(0x20_0000, &[(0x20_0000, 0x1000, 5)]);
        wrong_machine[18] = 62;
        assert!(check_elf("p", &wrong_machine).is_err());
        let mut dynamic = elf(0x20_0000, &[(0x20_0000, 0x1000, 5)]);
        dynamic[16] = 3;
        assert!(check_elf("p", &dynamic).is_err());
    }
}
