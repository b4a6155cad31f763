//! ELF loading against hand-built images.

use std::vec;
use std::vec::Vec;

use elf_image::Window;
use elf_image::build::{Ph, build};

use super::{ElfError, Loaded, MAX_SEGMENTS, load};

const BASE: u64 = 0x4000_0000;

/// (p_type, flags, file bytes, paddr, memsz)
type Seg<'a> = (u32, u32, &'a [u8], u64, u64);

/// A minimal ELF64 image: header, program headers, then each segment's bytes.
fn image(entry: u64, segs: &[Seg<'_>]) -> Vec<u8> {
    let mut offset = 64 + 56 * segs.len() as u64;
    let phdrs: Vec<Ph> = segs
        .iter()
        .map(|&(kind, flags, bytes, paddr, memsz)| {
            let ph = Ph {
                kind,
                flags,
                offset,
                vaddr: paddr,
                paddr,
                filesz: bytes.len() as u64,
                memsz,
            };
            offset += bytes.len() as u64;
            ph
        })
        .collect();
    let mut out = build(entry, &phdrs, 0);
    for &(_, _, bytes, _, _) in segs {
        out.extend_from_slice(bytes);
    }
    out
}

#[test]
fn loads_segments_and_zeroes_the_tail() {
    let text = [0xAAu8; 16];
    let data = [0xBBu8; 4];
    let img = image(
        BASE,
        &[(1, 5, &text, BASE, 16), (1, 6, &data, BASE + 0x1000, 12)],
    );
    let mut ram = vec![0xEEu8; 0x2000];
    let loaded = load(&img, BASE, ram.as_mut_slice()).unwrap();
    assert_eq!(
        loaded,
        Loaded {
            entry: BASE,
            start: BASE,
            end: BASE + 0x100C
        }
    );
    assert_eq!(ram[..16], text);
    assert_eq!(ram[16], 0xEE, "bytes outside segments are left alone");
    assert_eq!(ram[0x1000..0x1004], data);
    assert_eq!(ram[0x1004..0x100C], [0; 8], "memsz beyond filesz is zeroed");
    assert_eq!(ram[0x100C], 0xEE);
}

#[test]
fn non_load_segments_are_skipped() {
    let img = image(BASE, &[(4, 4, &[1, 2], 0, 2), (1, 5, &[7; 4], BASE, 4)]);
    let mut ram = vec![0u8; 0x100];
    assert!(load(&img, BASE, ram.as_mut_slice()).is_ok());
    assert_eq!(ram[..4], [7; 4]);
}

/// Segment `index` covering `[start, end)` does not fit the 4 KiB of RAM at `BASE`.
fn outside(index: usize, start: u64, end: u64) -> ElfError {
    let window = Window {
        name: "guest RAM",
        start: BASE,
        end: BASE + 0x1000,
    };
    ElfError::OutsideWindow {
        index,
        start,
        end,
        window,
    }
}

#[test]
fn refusals_leave_ram_untouched() {
    let cases: Vec<(Vec<u8>, ElfError)> = vec![
        (
            image(BASE, &[(1, 5, &[1; 8], BASE - 0x1000, 8)]),
            outside(0, BASE - 0x1000, BASE - 0x1000 + 8),
        ),
        (
            image(
                BASE,
                &[
                    (1, 5, &[1; 8], BASE, 8),
                    (1, 6, &[1; 8], BASE + 0x100, 0x10000),
                ],
            ),
            outside(1, BASE + 0x100, BASE + 0x1_0100),
        ),
        (
            image(BASE, &[(1, 5, &[1; 8], BASE, 4)]),
            ElfError::FileszExceedsMemsz { index: 0 },
        ),
        (
            image(BASE + 0x80, &[(1, 5, &[1; 8], BASE, 8)]),
            ElfError::EntryNotExecutable { entry: BASE + 0x80 },
        ),
        (
            image(BASE, &[(1, 6, &[1; 8], BASE, 8)]),
            ElfError::EntryNotExecutable { entry: BASE },
        ),
        (
            image(BASE, &[(1, 5, &[1; 8], BASE, 8), (1, 6, &[], BASE + 4, 8)]),
            ElfError::Overlap {
                first: 0,
                second: 1,
            },
        ),
        (
            image(BASE, &[(4, 4, &[1; 8], BASE, 8)]),
            ElfError::NoLoadSegments,
        ),
        (
            image(BASE, &[(1, 5, &[1; 8], u64::MAX - 2, 8)]),
            ElfError::AddressOverflow { index: 0 },
        ),
    ];
    for (img, want) in cases {
        let mut ram = vec![0x55u8; 0x1000];
        assert_eq!(load(&img, BASE, ram.as_mut_slice()), Err(want));
        assert!(ram.iter().all(|&b| b == 0x55), "{want:?} wrote to RAM");
    }
}

#[test]
fn malformed_headers_are_refused() {
    let good = image(BASE, &[(1, 5, &[1; 8], BASE, 8)]);
    let mut ram = vec![0u8; 0x100];
    for cut in [0, 3, 20, 63, 64, 100, good.len() - 1] {
        let r = load(&good[..cut], BASE, ram.as_mut_slice());
        assert!(
            matches!(
                r,
                Err(ElfError::Truncated | ElfError::SegmentOutOfFile { index: 0 })
            ),
            "cut at {cut}: {r:?}"
        );
    }
    let cases = [
        (4usize, 1u8, ElfError::NotElf64),
        (5, 2, ElfError::NotLittleEndian),
        (18, 62, ElfError::WrongMachine(62)),
        (16, 3, ElfError::NotExecutable(3)),
    ];
    for (offset, value, want) in cases {
        let mut bad = good.clone();
        bad[offset] = value;
        assert_eq!(load(&bad, BASE, ram.as_mut_slice()), Err(want));
    }
    let mut far = good.clone();
    far[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        load(&far, BASE, ram.as_mut_slice()),
        Err(ElfError::Truncated)
    );
}

#[test]
fn too_many_segments_are_refused() {
    let byte = [0u8; 1];
    let segs: Vec<Seg<'_>> = (0..=MAX_SEGMENTS as u64)
        .map(|i| (1, 5, byte.as_slice(), BASE + i, 1))
        .collect();
    let mut ram = vec![0u8; 0x100];
    assert_eq!(
        load(&image(BASE, &segs), BASE, ram.as_mut_slice()),
        Err(ElfError::TooManySegments)
    );
}
