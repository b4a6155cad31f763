//! Build-time check of a component ELF against the conventions the root task relies on
//! (`plan::vspace`): a static AArch64 executable whose loadable segments lie inside the image
//! window, share no page, and fit the RAM the budget assumed for them.

use std::fmt;

use elf_image::{Address, Image, Window};
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

/// Where a component's segments must lie (by virtual address).
const WINDOW: Window = Window {
    name: "image window",
    start: IMAGE_START,
    end: IMAGE_END,
};

/// Checks the ELF image of `program`: the shared reader's rules (`elf-image`, the same the root
/// task applies when it loads the image), then no two segments sharing a page and the pages
/// fitting the RAM budget.
pub fn check_elf(program: &str, bytes: &[u8]) -> Result<ElfSummary, ElfError> {
    let fail = |message: String| ElfError {
        program: program.to_string(),
        message,
    };
    let image = Image::parse(bytes).map_err(|e| fail(e.to_string()))?;
    let mut pages: Vec<(u64, u64)> = Vec::new();
    for s in image.segments() {
        // Saturates only far outside the window, which the check below then refuses.
        let start = s.vaddr / PAGE_SIZE * PAGE_SIZE;
        let end = s
            .end(Address::Virtual)
            .div_ceil(PAGE_SIZE)
            .saturating_mul(PAGE_SIZE);
        if let Some(&(s, e)) = pages.iter().find(|(s, e)| start < *e && *s < end) {
            return Err(fail(format!(
                "segments [{s:#x}, {e:#x}) and [{start:#x}, {end:#x}) share a page"
            )));
        }
        pages.push((start, end));
    }
    image
        .check_placement(Address::Virtual, WINDOW)
        .and_then(|()| image.check_entry(Address::Virtual))
        .map_err(|e| fail(e.to_string()))?;
    let start = pages.iter().map(|p| p.0).min().unwrap_or(0);
    let end = pages.iter().map(|p| p.1).max().unwrap_or(0);
    let bytes: u64 = pages.iter().map(|(s, e)| e - s).sum();
    if bytes > ELF_ALLOWANCE {
        return Err(fail(format!(
            "loaded segments take {bytes:#x} bytes; the RAM budget allows {ELF_ALLOWANCE:#x}"
        )));
    }
    Ok(ElfSummary {
        entry: image.entry(),
        segments: pages.len(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf_image::build::{PT_LOAD, Ph, build};

    /// A minimal ELF: header, `segs` program headers (vaddr, memsz, flags), 64 bytes of data.
    fn elf(entry: u64, segs: &[(u64, u64, u32)]) -> Vec<u8> {
        let phdrs: Vec<Ph> = segs
            .iter()
            .map(|&(vaddr, memsz, flags)| Ph {
                kind: PT_LOAD,
                flags,
                offset: (64 + 56 * segs.len()) as u64,
                vaddr,
                paddr: vaddr,
                filesz: 16,
                memsz,
            })
            .collect();
        build(entry, &phdrs, 64 + 56 * segs.len() + 64)
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
