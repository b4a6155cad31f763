use std::vec;
use std::vec::Vec;

use super::{
    BOOT_INFO_FRAME_SIZE, BOOT_INFO_SIZE, BootInfo, BootInfoError, EXTRA_ID_FDT, SlotRegion,
    UntypedDesc, offset,
};

fn put(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// A frame as the kernel would lay it out, with two untypeds at slots 100 and 101.
fn sample_frame() -> Vec<u8> {
    let mut b = vec![0u8; BOOT_INFO_FRAME_SIZE];
    put(&mut b, offset::IPC_BUFFER, 0x40_5000);
    put(&mut b, offset::EMPTY, 102);
    put(&mut b, offset::EMPTY + 8, 4096);
    put(&mut b, offset::USER_IMAGE_FRAMES, 20);
    put(&mut b, offset::USER_IMAGE_FRAMES + 8, 90);
    put(&mut b, offset::INIT_THREAD_CNODE_SIZE_BITS, 12);
    put(&mut b, offset::UNTYPED, 100);
    put(&mut b, offset::UNTYPED + 8, 102);
    put(&mut b, offset::UNTYPED_LIST, 0x4000_0000);
    b[offset::UNTYPED_LIST + 8] = 29;
    b[offset::UNTYPED_LIST + 9] = 1;
    put(&mut b, offset::UNTYPED_LIST + 16, 0x6100_0000);
    b[offset::UNTYPED_LIST + 24] = 24;
    b
}

#[test]
fn parses_fields_at_sel4_offsets() {
    let bytes = sample_frame();
    let bi = BootInfo::from_bytes(&bytes).expect("valid");
    assert_eq!(bi.ipc_buffer_addr(), 0x40_5000);
    assert_eq!(
        bi.empty(),
        SlotRegion {
            start: 102,
            end: 4096
        }
    );
    assert_eq!(bi.user_image_frames().len(), 70);
    assert_eq!(bi.init_thread_cnode_size_bits(), 12);
    assert_eq!(bi.untyped_count(), 2);
    let list: Vec<UntypedDesc> = bi.untyped_list().collect();
    assert_eq!(
        list,
        vec![
            UntypedDesc {
                slot: 100,
                paddr: 0x4000_0000,
                size_bits: 29,
                is_device: true
            },
            UntypedDesc {
                slot: 101,
                paddr: 0x6100_0000,
                size_bits: 24,
                is_device: false
            },
        ]
    );
    assert_eq!(bi.untyped_desc(2), None);
    assert!(list[0].contains(0x5fff_ffff) && !list[0].contains(0x6000_0000));
    assert_eq!(list[1].size(), 1 << 24);
    assert_eq!(bi.fdt(), None, "no extra bootinfo");
}

#[test]
fn rejects_short_and_inconsistent_frames() {
    let bytes = sample_frame();
    assert_eq!(
        BootInfo::from_bytes(&bytes[..BOOT_INFO_SIZE - 1]).err(),
        Some(BootInfoError::TooShort {
            len: BOOT_INFO_SIZE - 1
        })
    );
    assert!(BootInfo::from_bytes(&bytes[..BOOT_INFO_SIZE]).is_ok());
    let mut reversed = bytes.clone();
    put(&mut reversed, offset::UNTYPED + 8, 99);
    assert!(matches!(
        BootInfo::from_bytes(&reversed),
        Err(BootInfoError::BadUntypedRange {
            start: 100,
            end: 99
        })
    ));
    let mut too_many = bytes;
    put(&mut too_many, offset::UNTYPED + 8, 100 + 231);
    assert!(BootInfo::from_bytes(&too_many).is_err());
}

#[test]
fn extra_chunks_and_fdt() {
    let mut bytes = sample_frame();
    let mut extra = Vec::new();
    // Padding chunk (header only), then an FDT chunk with 4 payload bytes.
    extra.extend_from_slice(&0u64.to_le_bytes());
    extra.extend_from_slice(&16u64.to_le_bytes());
    extra.extend_from_slice(&EXTRA_ID_FDT.to_le_bytes());
    extra.extend_from_slice(&20u64.to_le_bytes());
    extra.extend_from_slice(&[0xd0, 0x0d, 0xfe, 0xed]);
    put(&mut bytes, offset::EXTRA_LEN, extra.len() as u64);
    bytes.extend_from_slice(&extra);
    let bi = BootInfo::from_bytes(&bytes).expect("valid");
    assert_eq!(bi.extra_chunks().count(), 2);
    assert_eq!(bi.fdt(), Some(&[0xd0, 0x0d, 0xfe, 0xed][..]));
    // A view that does not cover the extra bytes yields no chunk instead of reading past it.
    let frame_only = BootInfo::from_bytes(&bytes[..BOOT_INFO_FRAME_SIZE]).expect("valid");
    assert_eq!(frame_only.extra_chunks().count(), 0);
}

#[test]
fn malformed_extra_chunk_stops_iteration() {
    let mut bytes = sample_frame();
    let mut extra = Vec::new();
    extra.extend_from_slice(&EXTRA_ID_FDT.to_le_bytes());
    extra.extend_from_slice(&8u64.to_le_bytes()); // shorter than its own header
    put(&mut bytes, offset::EXTRA_LEN, extra.len() as u64);
    bytes.extend_from_slice(&extra);
    let bi = BootInfo::from_bytes(&bytes).expect("valid");
    assert_eq!(bi.extra_chunks().count(), 0);
    let mut huge = sample_frame();
    put(&mut huge, offset::EXTRA_LEN, u64::MAX);
    assert_eq!(
        BootInfo::from_bytes(&huge)
            .expect("valid")
            .extra_chunks()
            .count(),
        0
    );
}
