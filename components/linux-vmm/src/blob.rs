//! The boot blob: the Image, the initramfs and the kernel command line in one file, which the
//! build (xtask) writes and QEMU places in physical memory before seL4 starts (the manifest's
//! `preload = "linux-boot"` region, which the root task does not zero). The VMM reads it from
//! its read-only mapping of that region.
//!
//! Layout (all little-endian): a [`HEADER_LEN`]-byte header, then the Image at
//! `image_offset`, the initramfs at `initrd_offset` (both 4 KiB aligned, inside the blob).
//!
//! | offset | field |
//! |---|---|
//! | 0x00 | magic `SEL4LNX1` |
//! | 0x08 | u64 image_offset |
//! | 0x10 | u64 image_len |
//! | 0x18 | u64 initrd_offset |
//! | 0x20 | u64 initrd_len |
//! | 0x28 | u64 cmdline_len (at most [`CMDLINE_MAX`]) |
//! | 0x30 | u64 flags: bit 0 = the initramfs is the project's, whose `/init` prints [`INIT_MARKER`] |
//! | 0x100 | the command line (printable ASCII) |
#![forbid(unsafe_code)]

/// The magic at offset 0.
pub const MAGIC: [u8; 8] = *b"SEL4LNX1";
/// Bytes of the header; the Image starts here.
pub const HEADER_LEN: usize = 4096;
/// Where the command line starts in the header.
const CMDLINE_AT: usize = 0x100;
/// Longest command line.
pub const CMDLINE_MAX: usize = HEADER_LEN - CMDLINE_AT;
/// The start of the line the project's `/init` prints.
pub const INIT_MARKER: &str = "INIT:";
/// Flag: the initramfs is the project's own.
pub const FLAG_OWN_INIT: u64 = 1;
/// Alignment of the files in the blob.
pub const ALIGN: usize = 4096;

/// A decoded blob, borrowing its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob<'a> {
    /// The arm64 Image.
    pub image: &'a [u8],
    /// The initramfs (may be empty).
    pub initrd: &'a [u8],
    /// The kernel command line.
    pub cmdline: &'a str,
    /// The initramfs is the project's (its `/init` prints [`INIT_MARKER`]).
    pub own_init: bool,
}

/// Why a blob is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobError {
    /// No magic: nothing (or something else) was placed in the region.
    NoMagic,
    /// A file lies outside the blob, or the command line is too long or not printable.
    BadField(&'static str),
}

impl core::fmt::Display for BlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlobError::NoMagic => write!(
                f,
                "no boot blob (magic SEL4LNX1) in the linux-boot region: boot with `make run-linux` / `cargo xtask run-linux`, which place it"
            ),
            BlobError::BadField(what) => write!(f, "bad boot blob: {what}"),
        }
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn range(total: usize, offset: u64, len: u64) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (start >= HEADER_LEN && end <= total).then_some(start..end)
}

/// Decodes the blob at the start of `region`.
pub fn decode(region: &[u8]) -> Result<Blob<'_>, BlobError> {
    if region.len() < HEADER_LEN || region[..8] != MAGIC {
        return Err(BlobError::NoMagic);
    }
    let image = range(region.len(), le64(region, 0x08), le64(region, 0x10))
        .ok_or(BlobError::BadField("image outside the blob"))?;
    let initrd = range(region.len(), le64(region, 0x18), le64(region, 0x20))
        .ok_or(BlobError::BadField("initramfs outside the blob"))?;
    let cmdline_len = usize::try_from(le64(region, 0x28)).unwrap_or(usize::MAX);
    if cmdline_len > CMDLINE_MAX {
        return Err(BlobError::BadField("command line too long"));
    }
    let cmdline = &region[CMDLINE_AT..CMDLINE_AT + cmdline_len];
    if !cmdline.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(BlobError::BadField("command line not printable ASCII"));
    }
    let cmdline = core::str::from_utf8(cmdline).map_err(|_| BlobError::BadField("command line"))?;
    Ok(Blob {
        image: &region[image],
        initrd: &region[initrd],
        cmdline,
        own_init: le64(region, 0x30) & FLAG_OWN_INIT != 0,
    })
}

/// The header of a blob holding an Image of `image_len` bytes and an initramfs of `initrd_len`
/// bytes, and the offsets to put them at: `(header, image_offset, initrd_offset, total)`.
pub fn header(
    image_len: usize,
    initrd_len: usize,
    cmdline: &str,
    flags: u64,
) -> Result<([u8; HEADER_LEN], usize, usize, usize), BlobError> {
    if cmdline.len() > CMDLINE_MAX {
        return Err(BlobError::BadField("command line too long"));
    }
    if !cmdline.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(BlobError::BadField("command line not printable ASCII"));
    }
    let image_offset = HEADER_LEN;
    let initrd_offset = (image_offset + image_len).div_ceil(ALIGN) * ALIGN;
    let total = initrd_offset + initrd_len;
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    let fields = [
        image_offset as u64,
        image_len as u64,
        initrd_offset as u64,
        initrd_len as u64,
        cmdline.len() as u64,
        flags,
    ];
    for (k, v) in fields.iter().enumerate() {
        h[8 + 8 * k..16 + 8 * k].copy_from_slice(&v.to_le_bytes());
    }
    h[CMDLINE_AT..CMDLINE_AT + cmdline.len()].copy_from_slice(cmdline.as_bytes());
    Ok((h, image_offset, initrd_offset, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(image: &[u8], initrd: &[u8], cmdline: &str) -> std::vec::Vec<u8> {
        let (h, io, ro, total) = header(image.len(), initrd.len(), cmdline, FLAG_OWN_INIT).unwrap();
        let mut b = std::vec![0u8; total];
        b[..HEADER_LEN].copy_from_slice(&h);
        b[io..io + image.len()].copy_from_slice(image);
        b[ro..ro + initrd.len()].copy_from_slice(initrd);
        b
    }

    #[test]
    fn round_trip() {
        let b = build(&[1, 2, 3], &[9; 5000], "console=ttyAMA0 quiet");
        let d = decode(&b).unwrap();
        assert_eq!(d.image, [1, 2, 3]);
        assert_eq!(d.initrd, [9; 5000]);
        assert_eq!(d.cmdline, "console=ttyAMA0 quiet");
        assert!(d.own_init);
        // A larger region (the blob is at its start) decodes the same.
        let mut padded = b.clone();
        padded.resize(b.len() + 8192, 0);
        assert_eq!(decode(&padded).unwrap(), d);
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(&[0; 8192]), Err(BlobError::NoMagic));
        let mut b = build(&[1, 2, 3], &[4], "x");
        let len = b.len();
        b.truncate(len - 1);
        assert_eq!(
            decode(&b),
            Err(BlobError::BadField("initramfs outside the blob"))
        );
        let mut c = build(&[1], &[], "x");
        c[0x28] = 0xFF;
        c[0x29] = 0xFF;
        assert_eq!(
            decode(&c),
            Err(BlobError::BadField("command line too long"))
        );
        assert!(header(1, 1, "bad\nline", 0).is_err());
    }
}
