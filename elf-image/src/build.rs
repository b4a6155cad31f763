//! A writer of minimal ELF64 AArch64 executables, for tests: the header, the program headers
//! right after it, then whatever bytes the caller's offsets point at.

use std::vec::Vec;

/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PF_X`.
pub const PF_X: u32 = 1;
/// `PF_W`.
pub const PF_W: u32 = 2;
/// `PF_R`.
pub const PF_R: u32 = 4;
/// Size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header.
pub const PHDR_SIZE: usize = 56;

/// One program header.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ph {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// An image with entry `entry` and program headers `phdrs`, zero-padded to `file_len` bytes.
pub fn build(entry: u64, phdrs: &[Ph], file_len: usize) -> Vec<u8> {
    let mut b = std::vec![0u8; file_len.max(EHDR_SIZE + PHDR_SIZE * phdrs.len())];
    b[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    b[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&entry.to_le_bytes());
    b[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    b[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    b[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for (i, ph) in phdrs.iter().enumerate() {
        let p = EHDR_SIZE + i * PHDR_SIZE;
        b[p..p + 4].copy_from_slice(&ph.kind.to_le_bytes());
        b[p + 4..p + 8].copy_from_slice(&ph.flags.to_le_bytes());
        let fields = [ph.offset, ph.vaddr, ph.paddr, ph.filesz, ph.memsz];
        for (k, v) in fields.into_iter().enumerate() {
            b[p + 8 + 8 * k..p + 16 + 8 * k].copy_from_slice(&v.to_le_bytes());
        }
    }
    b
}
