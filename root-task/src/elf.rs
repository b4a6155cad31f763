//! The loadable segments of a component's ELF image.
//!
//! The build already checked each image with `manifest::check_elf`; this re-reads it with the
//! same shared reader (`elf-image`) and rules, so a damaged image is refused with a reason
//! rather than loaded wrongly: a static AArch64 executable whose segments lie inside
//! `plan::vspace::IMAGE_START..IMAGE_END` without overlapping, entered in an executable one.

use elf_image::{Address, Error, MAX_SEGMENTS, Segment, Window};
use plan::vspace::{IMAGE_END, IMAGE_START};

/// Where a component's segments must lie (by virtual address).
const WINDOW: Window = Window {
    name: "image window",
    start: IMAGE_START,
    end: IMAGE_END,
};

/// A parsed image: entry point and segments, by ascending address.
#[derive(Clone, Debug)]
pub struct Image<'a> {
    /// Entry point.
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero size, sorted by address.
    pub segments: heapless::Vec<Segment<'a>, MAX_SEGMENTS>,
}

/// Parses `bytes` and checks the component rules.
pub fn parse(bytes: &[u8]) -> Result<Image<'_>, Error> {
    let image = elf_image::Image::parse(bytes)?;
    image.check_placement(Address::Virtual, WINDOW)?;
    image.check_entry(Address::Virtual)?;
    let mut segments = heapless::Vec::new();
    for s in image.segments() {
        // Capacity: both vectors hold MAX_SEGMENTS.
        let _ = segments.push(*s);
    }
    segments.sort_unstable_by_key(|s| s.vaddr);
    Ok(Image {
        entry: image.entry(),
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf_image::build::{PT_LOAD, Ph, build};

    /// A minimal ELF with the given `(flags, vaddr, data, memsz)` segments.
    fn elf(entry: u64, segs: &[(u32, u64, &[u8], u64)]) -> Vec<u8> {
        let mut offset = 64 + 56 * segs.len() as u64;
        let phdrs: Vec<Ph> = segs
            .iter()
            .map(|&(flags, vaddr, data, memsz)| {
                let ph = Ph {
                    kind: PT_LOAD,
                    flags,
                    offset,
                    vaddr,
                    paddr: vaddr,
                    filesz: data.len() as u64,
                    memsz,
                };
                offset += data.len() as u64;
                ph
            })
            .collect();
        let mut b = build(entry, &phdrs, 0);
        for &(_, _, data, _) in segs {
            b.extend_from_slice(data);
        }
        b
    }

    #[test]
    fn segments_sorted_with_flags_and_data() {
        let img = elf(
            0x40_0010,
            &[
                (6, 0x40_1000, b"data", 0x2000),
                (5, 0x40_0000, b"code", 0x100),
            ],
        );
        let image = parse(&img).unwrap();
        assert_eq!(image.entry, 0x40_0010);
        let s = &image.segments;
        assert_eq!(
            (s[0].vaddr, s[0].exec, s[0].write, s[0].data),
            (0x40_0000, true, false, &b"code"[..])
        );
        assert_eq!(
            (s[1].vaddr, s[1].memsz, s[1].write),
            (0x40_1000, 0x2000, true)
        );
    }

    #[test]
    fn damaged_images_are_refused() {
        let ok = elf(0x40_0000, &[(5, 0x40_0000, b"code", 4)]);
        assert!(parse(&ok).is_ok());
        assert_eq!(parse(&ok[..70]).unwrap_err(), Error::Truncated);
        assert_eq!(parse(b"\x7fELF").unwrap_err(), Error::Truncated);
        let mut be = ok.clone();
        be[5] = 2;
        assert_eq!(parse(&be).unwrap_err(), Error::NotLittleEndian);
        let mut x86 = ok.clone();
        x86[18] = 62;
        assert_eq!(parse(&x86).unwrap_err(), Error::WrongMachine(62));
        let outside = elf(0x40_0000, &[(5, 0x40_0000, b"code", 4), (6, 0x0, b"", 8)]);
        assert!(matches!(
            parse(&outside).unwrap_err(),
            Error::OutsideWindow { index: 1, .. }
        ));
        let overlap = elf(
            0x40_0000,
            &[(5, 0x40_0000, b"code", 0x2000), (6, 0x40_1000, b"", 8)],
        );
        assert_eq!(
            parse(&overlap).unwrap_err(),
            Error::Overlap {
                first: 0,
                second: 1
            }
        );
        let entry = elf(0x50_0000, &[(5, 0x40_0000, b"code", 4)]);
        assert_eq!(
            parse(&entry).unwrap_err(),
            Error::EntryNotExecutable { entry: 0x50_0000 }
        );
        let big = elf(0x40_0000, &[(5, 0x40_0000, b"code", 2)]);
        assert_eq!(
            parse(&big).unwrap_err(),
            Error::FileszExceedsMemsz { index: 0 }
        );
        let mut cut = elf(0x40_0000, &[(5, 0x40_0000, b"code", 4)]);
        cut.truncate(cut.len() - 2);
        assert_eq!(
            parse(&cut).unwrap_err(),
            Error::SegmentOutOfFile { index: 0 }
        );
    }
}
