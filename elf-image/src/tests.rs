//! The rules of [`Image`] against hand-built images.

use std::vec::Vec;

use crate::build::{EHDR_SIZE, PF_R, PF_W, PF_X, PHDR_SIZE, PT_LOAD, Ph, build};
use crate::{Address, Error, Image, MAX_SEGMENTS, Window};

/// A loadable segment of `filesz` file bytes at `offset`, mapped at `addr` (virtual and physical).
fn load(flags: u32, offset: u64, addr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph {
        kind: PT_LOAD,
        flags,
        offset,
        vaddr: addr,
        paddr: addr,
        filesz,
        memsz,
    }
}

fn kernel_like() -> Vec<u8> {
    let text = Ph {
        paddr: 0x6000_0000,
        ..load(PF_R | PF_X, 0x200, 0xff_c000_0000, 0x100, 0x23f000)
    };
    let gnu_stack = Ph {
        kind: 0x6474_e551,
        ..Ph::default()
    };
    build(0xff_c000_0000, &[text, gnu_stack], 0x300)
}

#[test]
fn parses_kernel_like_image() {
    let bytes = kernel_like();
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.entry(), 0xff_c000_0000);
    let [s] = image.segments() else {
        panic!("one segment expected: {:?}", image.segments());
    };
    assert_eq!(
        (s.index, s.vaddr, s.paddr, s.file(), s.memsz, s.filesz()),
        (
            0,
            0xff_c000_0000,
            0x6000_0000,
            0x200..0x300,
            0x23f000,
            0x100
        )
    );
    assert_eq!(s.data, &bytes[0x200..0x300]);
    assert!(s.exec && !s.write);
}

#[test]
fn header_errors() {
    let good = kernel_like();
    assert_eq!(Image::parse(&good[..63]).unwrap_err(), Error::Truncated);
    assert_eq!(Image::parse(&good[..10]).unwrap_err(), Error::Truncated);
    assert_eq!(Image::parse(&[]).unwrap_err(), Error::Truncated);
    assert_eq!(Image::parse(b"\x7fEL").unwrap_err(), Error::Truncated);
    assert_eq!(Image::parse(b"not an elf").unwrap_err(), Error::BadMagic);
    let cases: [(usize, &[u8], Error); 8] = [
        (0, b"\x7fELG", Error::BadMagic),
        (4, &[1], Error::NotElf64),
        (4, &[3], Error::NotElf64),
        (5, &[2], Error::NotLittleEndian),
        (6, &[0], Error::BadVersion),
        (16, &[3, 0], Error::NotExecutable(3)),
        (18, &[62, 0], Error::WrongMachine(62)),
        (54, &[32, 0], Error::BadPhentsize(32)),
    ];
    for (at, patch, err) in cases {
        let mut b = good.clone();
        b[at..at + patch.len()].copy_from_slice(patch);
        assert_eq!(Image::parse(&b).unwrap_err(), err, "patch at {at}");
    }
}

#[test]
fn header_tables_outside_file() {
    let mut b = kernel_like();
    b[32..40].copy_from_slice(&0x2f0u64.to_le_bytes());
    assert_eq!(Image::parse(&b).unwrap_err(), Error::Truncated);
    b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(Image::parse(&b).unwrap_err(), Error::Truncated);
    // A section header table past the end, or with the wrong entry size.
    let mut b = kernel_like();
    b[40..48].copy_from_slice(&0x1000u64.to_le_bytes());
    b[58..60].copy_from_slice(&64u16.to_le_bytes());
    b[60..62].copy_from_slice(&1u16.to_le_bytes());
    assert_eq!(Image::parse(&b).unwrap_err(), Error::Truncated);
    b[40..48].copy_from_slice(&0x100u64.to_le_bytes());
    b[58..60].copy_from_slice(&40u16.to_le_bytes());
    assert_eq!(Image::parse(&b).unwrap_err(), Error::BadSectionHeaders);
}

#[test]
fn segment_errors() {
    let seg = |off, va, fsz, msz| build(0, &[load(0, off, va, fsz, msz)], 0x100);
    let second = |ph: Ph| build(0, &[load(0, 0x80, 0, 0, 1), ph], 0x100);
    let cases = [
        (
            seg(0x80, 0x1000, 0x81, 0x1000),
            Error::SegmentOutOfFile { index: 0 },
        ),
        (
            seg(u64::MAX, 0x1000, 2, 0x1000),
            Error::SegmentOutOfFile { index: 0 },
        ),
        (
            seg(0x80, 0x1000, 0x20, 0x10),
            Error::FileszExceedsMemsz { index: 0 },
        ),
        (
            seg(0x80, 0x1000, 1, 0),
            Error::FileszExceedsMemsz { index: 0 },
        ),
        (
            seg(0x80, u64::MAX - 4, 0, 0x10),
            Error::AddressOverflow { index: 0 },
        ),
        (seg(0x80, 0x1000, 0, 0), Error::NoLoadSegments),
        (build(0, &[], 0x100), Error::NoLoadSegments),
        (
            second(Ph {
                paddr: u64::MAX,
                ..load(0, 0, 0x1000, 0, 2)
            }),
            Error::AddressOverflow { index: 1 },
        ),
        (
            second(load(0, 0xf0, 0, 0x11, 0x11)),
            Error::SegmentOutOfFile { index: 1 },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(Image::parse(&bytes).unwrap_err(), err);
    }
}

#[test]
fn empty_and_other_headers_are_skipped_but_keep_their_index() {
    let note = Ph {
        kind: 4,
        ..Ph::default()
    };
    let bytes = build(
        0,
        &[note, load(0, 0, 0, 0, 0), load(PF_W, 0, 0x1000, 0, 8)],
        0,
    );
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.segments().len(), 1);
    assert_eq!(image.segments()[0].index, 2);
    assert!(image.segments()[0].write && !image.segments()[0].exec);
}

#[test]
fn too_many_segments() {
    let phdrs: Vec<Ph> = (0..=MAX_SEGMENTS as u64)
        .map(|i| load(0, 0, i << 12, 0, 0x1000))
        .collect();
    assert_eq!(
        Image::parse(&build(0, &phdrs, 0)).unwrap_err(),
        Error::TooManySegments
    );
    assert!(Image::parse(&build(0, &phdrs[1..], 0)).is_ok());
}

const WINDOW: Window = Window {
    name: "image window",
    start: 0x20_0000,
    end: 0x40_0000,
};

/// An image of the given `(flags, addr, memsz)` segments, each with 4 file bytes.
fn image(entry: u64, segs: &[(u32, u64, u64)]) -> Vec<u8> {
    let phdrs: Vec<Ph> = segs
        .iter()
        .map(|&(flags, addr, memsz)| load(flags, 0, addr, 4, memsz))
        .collect();
    build(entry, &phdrs, 0)
}

#[test]
fn placement() {
    let ok = image(0x20_0000, &[(5, 0x20_0000, 0x1000), (6, 0x20_1000, 0x1000)]);
    let ok = Image::parse(&ok).unwrap();
    assert_eq!(ok.check_placement(Address::Virtual, WINDOW), Ok(()));
    let last = image(0, &[(5, 0x20_0000, 0x1000), (6, 0x3f_f000, 0x1001)]);
    assert_eq!(
        Image::parse(&last)
            .unwrap()
            .check_placement(Address::Virtual, WINDOW),
        Err(Error::OutsideWindow {
            index: 1,
            start: 0x3f_f000,
            end: 0x40_0001,
            window: WINDOW
        })
    );
    let below = image(0, &[(5, 0x1f_ffff, 0x10)]);
    assert!(matches!(
        Image::parse(&below)
            .unwrap()
            .check_placement(Address::Virtual, WINDOW),
        Err(Error::OutsideWindow { index: 0, .. })
    ));
    let overlap = image(0, &[(5, 0x20_0000, 0x2000), (6, 0x20_1fff, 8)]);
    assert_eq!(
        Image::parse(&overlap)
            .unwrap()
            .check_placement(Address::Virtual, WINDOW),
        Err(Error::Overlap {
            first: 0,
            second: 1
        })
    );
    // By physical address: the same segments moved elsewhere physically.
    let phys = build(
        0,
        &[Ph {
            paddr: 0x1000,
            ..load(5, 0, 0x20_0000, 4, 8)
        }],
        0,
    );
    let phys = Image::parse(&phys).unwrap();
    assert_eq!(phys.check_placement(Address::Virtual, WINDOW), Ok(()));
    assert!(phys.check_placement(Address::Physical, WINDOW).is_err());
}

#[test]
fn entry_must_be_in_an_executable_segment() {
    let check = |entry, segs: &[(u32, u64, u64)]| {
        Image::parse(&image(entry, segs))
            .unwrap()
            .check_entry(Address::Virtual)
    };
    let segs = [
        (PF_R | PF_X, 0x20_0000, 0x100),
        (PF_R | PF_W, 0x20_1000, 0x100),
    ];
    assert_eq!(check(0x20_00ff, &segs), Ok(()));
    for entry in [0x20_0100, 0x20_1000, 0x1f_ffff] {
        assert_eq!(
            check(entry, &segs),
            Err(Error::EntryNotExecutable { entry }),
            "{entry:#x}"
        );
    }
}

#[test]
fn errors_say_what_and_where() {
    let text = std::format!(
        "{}",
        Error::OutsideWindow {
            index: 3,
            start: 0x10,
            end: 0x20,
            window: WINDOW
        }
    );
    assert_eq!(
        text,
        "program header 3: segment [0x10, 0x20) is outside the image window [0x200000, 0x400000)"
    );
}

#[test]
fn no_panic_on_any_truncation_or_byte_flip() {
    let good = kernel_like();
    for len in 0..good.len() {
        let _ = Image::parse(&good[..len]);
    }
    for at in 0..EHDR_SIZE + 2 * PHDR_SIZE {
        for v in [0x00, 0x7f, 0xff] {
            let mut b = good.clone();
            b[at] = v;
            let _ = Image::parse(&b);
        }
    }
}

fn field_value() -> impl proptest::strategy::Strategy<Value = u64> {
    use proptest::prelude::*;
    // Mostly small values, so that a good share of the images is accepted.
    prop_oneof![
        30 => 0..0x400u64,
        1 => Just(u64::MAX),
        1 => Just(u64::MAX - 0x10),
        1 => any::<u64>(),
    ]
}

proptest::proptest! {
    /// Whatever the program headers say, parsing never panics and an accepted image satisfies
    /// the documented rules.
    #[test]
    fn accepted_images_satisfy_the_rules(
        phdrs in proptest::collection::vec(
            (
                proptest::prop_oneof![3 => proptest::strategy::Just(PT_LOAD), 1 => 0u32..3],
                0u32..8,
                field_value(),
                field_value(),
                field_value(),
                field_value(),
                field_value(),
                // Usually make memsz cover filesz, as real images do.
                proptest::bool::weighted(0.8),
            ),
            0..8,
        ),
        file_len in 0usize..0x800,
    ) {
        let phdrs: Vec<Ph> = phdrs
            .into_iter()
            .map(|(kind, flags, offset, vaddr, paddr, filesz, msz, grow)| Ph {
                kind, flags, offset, vaddr, paddr, filesz,
                memsz: if grow { filesz.saturating_add(msz) } else { msz },
            })
            .collect();
        let bytes = build(0x1000, &phdrs, file_len);
        if let Ok(image) = Image::parse(&bytes) {
            proptest::prop_assert!(!image.segments().is_empty());
            for s in image.segments() {
                let ph = phdrs[s.index];
                proptest::prop_assert_eq!(ph.kind, PT_LOAD);
                proptest::prop_assert!(s.file().end <= bytes.len());
                proptest::prop_assert_eq!(s.data, &bytes[s.file()]);
                proptest::prop_assert!(s.filesz() <= s.memsz && s.memsz > 0);
                proptest::prop_assert!(s.vaddr.checked_add(s.memsz).is_some());
                proptest::prop_assert!(s.paddr.checked_add(s.memsz).is_some());
                proptest::prop_assert_eq!((s.exec, s.write), (ph.flags & PF_X != 0, ph.flags & PF_W != 0));
            }
        }
    }
}
