//! Host tests of [`super::plan`] against the stock QEMU virt layout.

use super::*;
use std::vec::Vec;

/// A program header: (type, offset, vaddr, paddr, filesz, memsz).
type Ph = (u32, u64, u64, u64, u64, u64);

/// An ELF64 AArch64 executable with the given headers, padded to `file_len`.
fn build(entry: u64, phdrs: &[Ph], file_len: usize) -> Vec<u8> {
    let phdrs: Vec<elf_image::build::Ph> = phdrs
        .iter()
        .map(
            |&(kind, offset, vaddr, paddr, filesz, memsz)| elf_image::build::Ph {
                kind,
                flags: 0,
                offset,
                vaddr,
                paddr,
                filesz,
                memsz,
            },
        )
        .collect();
    elf_image::build::build(entry, &phdrs, file_len)
}

const PT_LOAD: u32 = 1;
const KVA: u64 = 0xff_c000_0000;
const KPA: u64 = 0x6000_0000;

fn platform() -> Platform {
    Platform {
        ram: 0x6000_0000..0xc000_0000,
        loader: 0xb000_0000..0xb004_2000,
        uart: 0x0900_0000,
        user_top: 0xfff_ffff_ffff,
    }
}

fn kernel_bytes() -> Vec<u8> {
    build(KVA, &[(PT_LOAD, 0x100, KVA, KPA, 0x80, 0x23f000)], 0x180)
}

fn elf(bytes: &[u8]) -> Elf<'_> {
    Elf::parse(bytes).unwrap()
}

/// Root task: text at 0x40_0000 (0x1234 bytes), data at 0x40_2000 (0x10 of 0x3000).
fn root_bytes(entry: u64, base: u64) -> Vec<u8> {
    let phdrs: [Ph; 2] = [
        (PT_LOAD, 0x100, base, 0, 0x20, 0x1234),
        (PT_LOAD, 0x120, base + 0x2000, 0, 0x10, 0x3000),
    ];
    build(entry, &phdrs, 0x130)
}

fn dtb(total: u32, len: usize) -> Vec<u8> {
    let mut b = std::vec![0u8; len];
    b[..4].copy_from_slice(&0xd00d_feedu32.to_be_bytes());
    b[4..8].copy_from_slice(&total.to_be_bytes());
    b
}

#[test]
fn stock_layout_without_dtb() {
    let p = plan(
        &elf(&kernel_bytes()),
        None,
        &elf(&root_bytes(0x40_0010, 0x40_0000)),
        &platform(),
    )
    .unwrap();
    assert_eq!(p.kernel_entry, KVA);
    assert_eq!(p.kernel, 0x6000_0000..0x6023_f000);
    assert_eq!(p.dtb, None);
    assert_eq!(
        p.args,
        KernelArgs {
            ui_p_reg_start: 0x6023_f000,
            ui_p_reg_end: 0x6024_4000,
            pv_offset: 0x6023_f000 - 0x40_0000,
            v_entry: 0x40_0010,
            dtb_paddr: 0,
            dtb_size: 0,
        }
    );
    let ops: Vec<LoadOp> = p.ops.iter().cloned().collect();
    assert_eq!(
        ops,
        [
            LoadOp {
                source: Image::Kernel,
                file: 0x100..0x180,
                dst: KPA,
                zero: 0x23f000 - 0x80
            },
            LoadOp {
                source: Image::RootTask,
                file: 0..0,
                dst: 0x6023_f000,
                zero: 0x5000
            },
            LoadOp {
                source: Image::RootTask,
                file: 0x100..0x120,
                dst: 0x6023_f000,
                zero: 0
            },
            LoadOp {
                source: Image::RootTask,
                file: 0x120..0x130,
                dst: 0x6024_1000,
                zero: 0
            },
        ]
    );
    assert_eq!(ops[0].written(), KPA..0x6023_f000);
    assert_eq!(
        p.mappings,
        [
            Mapping {
                va: KVA,
                pa: KPA,
                size: SIZE_1G,
                memory: Memory::Normal
            },
            Mapping {
                va: 0xb000_0000,
                pa: 0xb000_0000,
                size: SIZE_2M,
                memory: Memory::Normal
            },
            Mapping {
                va: 0x0900_0000,
                pa: 0x0900_0000,
                size: SIZE_2M,
                memory: Memory::Device
            },
        ]
    );
}

#[test]
fn dtb_goes_between_kernel_and_root_task() {
    let blob = dtb(0x1234, 0x2000);
    let p = plan(
        &elf(&kernel_bytes()),
        Some(&blob),
        &elf(&root_bytes(0x40_0000, 0x40_0000)),
        &platform(),
    )
    .unwrap();
    assert_eq!(p.dtb, Some(0x6023_f000..0x6024_0234));
    assert_eq!((p.args.dtb_paddr, p.args.dtb_size), (0x6023_f000, 0x1234));
    assert_eq!(p.args.ui_p_reg_start, 0x6024_1000);
    assert_eq!(p.args.ui_p_reg_end, 0x6024_6000);
    assert_eq!(
        p.ops[1],
        LoadOp {
            source: Image::Dtb,
            file: 0..0x1234,
            dst: 0x6023_f000,
            zero: 0
        }
    );
}

#[test]
fn fdt_header_checks() {
    assert_eq!(fdt_size(&dtb(0x40, 0x40)), Ok(0x40));
    assert_eq!(fdt_size(&dtb(0x41, 0x40)), Err(LayoutError::BadDtb));
    assert_eq!(fdt_size(&dtb(0x27, 0x40)), Err(LayoutError::BadDtb));
    assert_eq!(fdt_size(&dtb(0x40, 0x40)[..6]), Err(LayoutError::BadDtb));
    let mut bad = dtb(0x40, 0x40);
    bad[0] = 0;
    assert_eq!(fdt_size(&bad), Err(LayoutError::BadDtb));
}

#[test]
fn root_task_errors() {
    let k_bytes = kernel_bytes();
    let k = elf(&k_bytes);
    let run = |root: &[u8], platform: &Platform| plan(&k, None, &elf(root), platform).unwrap_err();
    assert_eq!(
        run(&root_bytes(0x40_0800, 0x40_0800), &platform()),
        LayoutError::RootTaskUnaligned {
            min_vaddr: 0x40_0800
        }
    );
    assert_eq!(
        run(&root_bytes(0x30_0000, 0x40_0000), &platform()),
        LayoutError::EntryOutsideImage(Image::RootTask)
    );
    // Entry in the gap between the two segments.
    assert_eq!(
        run(&root_bytes(0x40_1800, 0x40_0000), &platform()),
        LayoutError::EntryOutsideImage(Image::RootTask)
    );
    let low_top = Platform {
        user_top: 0x40_5000,
        ..platform()
    };
    assert_eq!(
        run(&root_bytes(0x40_0000, 0x40_0000), &low_top),
        LayoutError::RootTaskAboveUserTop
    );
    // 1.5 GiB of BSS cannot fit in RAM after the kernel.
    let huge = build(
        0x40_0000,
        &[(PT_LOAD, 0x100, 0x40_0000, 0, 0, 0x6000_0000)],
        0x100,
    );
    assert_eq!(
        run(&huge, &platform()),
        LayoutError::OutsideRam {
            image: Image::RootTask,
            start: 0x6023_f000,
            end: 0xc023_f000
        }
    );
    // Runs into the loader.
    let big = build(
        0x40_0000,
        &[(PT_LOAD, 0x100, 0x40_0000, 0, 0, 0x5000_0000)],
        0x100,
    );
    assert_eq!(
        run(&big, &platform()),
        LayoutError::OverlapsLoader(Image::RootTask)
    );
}

#[test]
fn kernel_errors() {
    let root_bytes = root_bytes(0x40_0000, 0x40_0000);
    let root = elf(&root_bytes);
    let run = |k: &[u8], platform: &Platform| plan(&elf(k), None, &root, platform).unwrap_err();
    let two = |pa2: u64, va2: u64| {
        build(
            KVA,
            &[
                (PT_LOAD, 0x100, KVA, KPA, 0, 0x1000),
                (PT_LOAD, 0x100, va2, pa2, 0, 0x1000),
            ],
            0x100,
        )
    };
    assert_eq!(
        run(&two(KPA + 0x2000, KVA + 0x3000), &platform()),
        LayoutError::KernelMixedOffsets
    );
    assert!(
        plan(
            &elf(&two(KPA + 0x2000, KVA + 0x2000)),
            None,
            &root,
            &platform()
        )
        .is_ok()
    );
    let unaligned = build(
        KVA,
        &[(PT_LOAD, 0x100, KVA, KPA + 0x1000, 0, 0x1000)],
        0x100,
    );
    assert_eq!(
        run(&unaligned, &platform()),
        LayoutError::KernelOffsetUnaligned
    );
    let entry_out = build(KVA - 4, &[(PT_LOAD, 0x100, KVA, KPA, 0, 0x1000)], 0x100);
    assert_eq!(
        run(&entry_out, &platform()),
        LayoutError::EntryOutsideImage(Image::Kernel)
    );
    let low = build(
        0x5000_0000,
        &[(PT_LOAD, 0x100, 0x5000_0000, 0x5000_0000, 0, 0x1000)],
        0x100,
    );
    assert_eq!(
        run(&low, &platform()),
        LayoutError::OutsideRam {
            image: Image::Kernel,
            start: 0x5000_0000,
            end: 0x5000_1000
        }
    );
    let on_loader = Platform {
        loader: 0x6010_0000..0x6020_0000,
        ..platform()
    };
    assert_eq!(
        run(&kernel_bytes(), &on_loader),
        LayoutError::OverlapsLoader(Image::Kernel)
    );
    let inverted = Platform {
        loader: Range {
            start: 0xb000_1000,
            end: 0xb000_0000,
        },
        ..platform()
    };
    assert_eq!(run(&kernel_bytes(), &inverted), LayoutError::BadPlatform);
}

#[test]
fn kernel_window_is_clipped_to_ram() {
    let small = Platform {
        ram: 0x6000_0000..0x8000_0000,
        loader: 0x7000_0000..0x7001_0000,
        ..platform()
    };
    let p = plan(
        &elf(&kernel_bytes()),
        None,
        &elf(&root_bytes(0x40_0000, 0x40_0000)),
        &small,
    )
    .unwrap();
    assert_eq!(p.mappings[0].size, 0x2000_0000);
    let root_bytes = root_bytes(0x40_0000, 0x40_0000);
    let root = elf(&root_bytes);
    // A kernel in RAM but past the 1 GiB window is refused.
    let big = build(
        KVA,
        &[(PT_LOAD, 0x100, KVA, KPA, 0, SIZE_1G + 0x1000)],
        0x100,
    );
    assert_eq!(
        plan(&elf(&big), None, &root, &platform()).unwrap_err(),
        LayoutError::KernelWindowTooSmall
    );
    // RAM ending off a 2 MiB boundary: the window stops at the last whole block.
    let ragged = Platform {
        ram: 0x6000_0000..0x6030_0000,
        loader: 0x7000_0000..0x7001_0000,
        ..platform()
    };
    let k = build(KVA, &[(PT_LOAD, 0x100, KVA, KPA, 0, 0x20_1000)], 0x100);
    assert_eq!(
        plan(&elf(&k), None, &root, &ragged).unwrap_err(),
        LayoutError::KernelWindowTooSmall
    );
    let k = build(KVA, &[(PT_LOAD, 0x100, KVA, KPA, 0, 0x20_0000)], 0x100);
    assert_eq!(
        plan(&elf(&k), None, &root, &ragged).unwrap().mappings[0].size,
        SIZE_2M
    );
}
