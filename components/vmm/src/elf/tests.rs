//! ELF loading against hand-built images.

use std::vec;
use std::vec::Vec;

use super::{ElfError, Loaded, MAX_SEGMENTS, load};

const BASE: u64 = 0x4000_0000;

/// (p_type, flags, file bytes, paddr, memsz)
type Seg<'a> = (u32, u32, &'a [u8], u64, u64);

/// A minimal ELF64 image: header, program headers, then each segment's bytes.
fn image(entry: u64, segs: &[Seg<'_>]) -> Vec<u8> {
    let phoff = 64u64;
    let mut data_off = phoff + 56 * segs.len() as u64;
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2;
    out[5] = 1;
    out[6] = 1;
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&183u16.to_le_bytes());
    out[24..32].copy_from_slice(&entry.to_le_bytes());
    out[32..40].copy_from_slice(&phoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[54..56].copy_from_slice(&56u16.to_le_bytes());
    out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
    for &(ty, flags, bytes, paddr, memsz) in segs {
        let mut ph = vec![0u8; 56];
        ph[0..4].copy_from_slice(&ty.to_le_bytes());
        ph[4..8].copy_from_slice(&flags.to_le_bytes());
        ph[8..16].copy_from_slice(&data_off.to_le_bytes());
        ph[16..24].copy_from_slice(&paddr.to_le_bytes());
        ph[24..32].copy_from_slice(&paddr.to_le_bytes());
        ph[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        ph[40..48].copy_from_slice(&memsz.to_le_bytes());
        out.extend_from_slice(&ph);
        data_off += bytes.len() as u64;
    }
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

#[test]
fn refusals_leave_ram_untouched() {
    let cases: Vec<(Vec<u8>, ElfError)> = vec![
        (
            image(BASE, &[(1, 5, &[1; 8], BASE - 0x1000, 8)]),
            ElfError::OutsideRam { index: 0 },
        ),
        (
            image(
                BASE,
                &[
                    (1, 5, &[1; 8], BASE, 8),
                    (1, 6, &[1; 8], BASE + 0x100, 0x10000),
                ],
            ),
            ElfError::OutsideRam { index: 1 },
        ),
        (
            image(BASE, &[(1, 5, &[1; 8], BASE, 4)]),
            ElfError::FileLargerThanMemory { index: 0 },
        ),
        (
            image(BASE + 0x80, &[(1, 5, &[1; 8], BASE, 8)]),
            ElfError::BadEntry,
        ),
        (image(BASE, &[(1, 6, &[1; 8], BASE, 8)]), ElfError::BadEntry),
        (
            image(BASE, &[(4, 4, &[1; 8], BASE, 8)]),
            ElfError::NothingToLoad,
        ),
        (
            image(BASE, &[(1, 5, &[1; 8], u64::MAX - 2, 8)]),
            ElfError::OutsideRam { index: 0 },
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
            matches!(r, Err(ElfError::Truncated | ElfError::NotAarch64Elf)),
            "cut at {cut}: {r:?}"
        );
    }
    for (offset, value) in [(4usize, 1u8), (5, 2), (18, 62), (16, 3)] {
        let mut bad = good.clone();
        bad[offset] = value;
        assert_eq!(
            load(&bad, BASE, ram.as_mut_slice()),
            Err(ElfError::NotAarch64Elf)
        );
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
