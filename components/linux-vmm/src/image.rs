//! The arm64 Linux `Image` header and where the boot protocol lets the Image go
//! (Documentation/arm64/booting.rst; spec `linux-guest-arm64.md` §1).
//!
//! Used by the build (to check a user's `LINUX_IMAGE` before booting it) and by the VMM (to
//! place the Image). Only the header is read; nothing here trusts the sizes it finds.
#![forbid(unsafe_code)]

/// Bytes of the header.
pub const HEADER_LEN: usize = 64;
/// `magic` at offset 0x38: "ARM\x64".
pub const MAGIC: u32 = 0x644D_5241;
/// The boot protocol's alignment of the load base (2 MiB).
pub const BASE_ALIGN: u64 = 2 << 20;

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    /// Offset of the Image from its 2 MiB-aligned base.
    pub text_offset: u64,
    /// Bytes the kernel needs from the load address, BSS included.
    pub image_size: u64,
    /// Header flags (bit 0 big-endian, bits 1-2 page size, bit 3 placement anywhere).
    pub flags: u64,
}

/// Why an Image is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Shorter than the 64-byte header.
    TooShort(usize),
    /// No "ARM\x64" magic at 0x38 (not an arm64 Image; a compressed `vmlinuz` must be
    /// decompressed first).
    BadMagic(u32),
    /// A big-endian kernel.
    BigEndian,
    /// `image_size` is smaller than the file.
    SizeBelowFile {
        /// The header's image_size.
        image_size: u64,
        /// The file's length.
        file: u64,
    },
    /// The Image (its `image_size` from its load address) does not fit the room given.
    TooLarge {
        /// Bytes needed from the load address.
        needed: u64,
        /// Bytes available.
        room: u64,
    },
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ImageError::TooShort(n) => {
                write!(f, "{n} bytes: shorter than the 64-byte arm64 Image header")
            }
            ImageError::BadMagic(m) => write!(
                f,
                "no arm64 Image magic (\"ARM\\x64\" at 0x38, found {m:#010x}); a compressed vmlinuz must be decompressed first"
            ),
            ImageError::BigEndian => write!(
                f,
                "a big-endian Image (flags bit 0); the guest is little-endian"
            ),
            ImageError::SizeBelowFile { image_size, file } => {
                write!(
                    f,
                    "header image_size {image_size:#x} is smaller than the file ({file:#x} bytes)"
                )
            }
            ImageError::TooLarge { needed, room } => write!(
                f,
                "the Image needs {needed:#x} bytes from its load address but guest RAM leaves {room:#x}"
            ),
        }
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Parses and checks the header of `image`.
pub fn parse(image: &[u8]) -> Result<ImageHeader, ImageError> {
    if image.len() < HEADER_LEN {
        return Err(ImageError::TooShort(image.len()));
    }
    let magic = u32::from_le_bytes([image[0x38], image[0x39], image[0x3A], image[0x3B]]);
    if magic != MAGIC {
        return Err(ImageError::BadMagic(magic));
    }
    let mut text_offset = le64(image, 0x08);
    let mut image_size = le64(image, 0x10);
    let flags = le64(image, 0x18);
    if image_size == 0 {
        // Kernels before 3.17: text_offset 0x80000 and no size; the file is the best bound.
        text_offset = 0x8_0000;
        image_size = image.len() as u64;
    }
    if flags & 1 != 0 {
        return Err(ImageError::BigEndian);
    }
    if image_size < image.len() as u64 {
        return Err(ImageError::SizeBelowFile {
            image_size,
            file: image.len() as u64,
        });
    }
    Ok(ImageHeader {
        text_offset,
        image_size,
        flags,
    })
}

impl ImageHeader {
    /// The load address for a 2 MiB-aligned `base` (rounded up if it is not).
    pub fn load_address(&self, base: u64) -> u64 {
        base.div_ceil(BASE_ALIGN) * BASE_ALIGN + self.text_offset
    }

    /// Checks that the Image loaded for `base` fits below `end`; returns the load address.
    pub fn place(&self, base: u64, end: u64) -> Result<u64, ImageError> {
        let load = self.load_address(base);
        let room = end.saturating_sub(load);
        if self.image_size > room {
            return Err(ImageError::TooLarge {
                needed: self.image_size,
                room,
            });
        }
        Ok(load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header like Debian's 6.1 cloud Image (spec §1.2).
    fn debian_like(file_len: usize) -> std::vec::Vec<u8> {
        let mut h = std::vec![0u8; file_len];
        h[0..4].copy_from_slice(&0xFA40_5A4Du32.to_le_bytes());
        h[0x10..0x18].copy_from_slice(&0x1AB_0000u64.to_le_bytes());
        h[0x18..0x20].copy_from_slice(&0xAu64.to_le_bytes());
        h[0x38..0x3C].copy_from_slice(&MAGIC.to_le_bytes());
        h
    }

    #[test]
    fn debian_header() {
        let h = parse(&debian_like(4096)).unwrap();
        assert_eq!(h.text_offset, 0);
        assert_eq!(h.image_size, 0x1AB_0000);
        assert_eq!(h.load_address(0x4020_0000), 0x4020_0000);
        assert_eq!(h.load_address(0x4010_0000), 0x4020_0000, "2 MiB aligned");
        assert_eq!(h.place(0x4020_0000, 0x5000_0000), Ok(0x4020_0000));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(&[0; 10]), Err(ImageError::TooShort(10)));
        let mut gz = debian_like(128);
        gz[0x38] = 0x1F;
        assert!(matches!(parse(&gz), Err(ImageError::BadMagic(_))));
        let mut be = debian_like(128);
        be[0x18] = 1;
        assert_eq!(parse(&be), Err(ImageError::BigEndian));
        let mut small = debian_like(128);
        small[0x10..0x18].copy_from_slice(&64u64.to_le_bytes());
        assert!(matches!(
            parse(&small),
            Err(ImageError::SizeBelowFile { .. })
        ));
        let h = parse(&debian_like(128)).unwrap();
        assert_eq!(
            h.place(0x4020_0000, 0x4100_0000),
            Err(ImageError::TooLarge {
                needed: 0x1AB_0000,
                room: 0xE0_0000
            })
        );
    }

    #[test]
    fn old_kernels_without_size() {
        let mut old = debian_like(4096);
        old[0x10..0x18].copy_from_slice(&0u64.to_le_bytes());
        let h = parse(&old).unwrap();
        assert_eq!(h.text_offset, 0x8_0000);
        assert_eq!(h.load_address(0x4000_0000), 0x4008_0000);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let s = std::format!("{}", ImageError::BadMagic(0x0008_8b1f));
        assert!(s.contains("ARM\\x64") && s.contains("decompressed"));
    }
}
