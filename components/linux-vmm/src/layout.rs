//! The Linux guest's physical address space (documented in docs/GUESTS.md) and where the boot
//! files go in it.
//!
//! | IPA | size | what |
//! |---|---|---|
//! | `0x0800_0000` | 4 KiB | GICv2 distributor, trapped by the VMM ([`crate::gicd`]) |
//! | `0x0900_0000` | 4 KiB | PL011, trapped by the VMM ([`crate::pl011`]), SPI 1 = INTID 33 |
//! | `0x4000_0000` | 256 MiB | RAM: Image at +2 MiB, initramfs at +128 MiB, DTB in the last 2 MiB |
//! | `0x8_0000_1000` | 8 KiB | GICv2 CPU interface: the server's GICV mapping |
//!
//! Invariants: the Image (its whole `image_size`), the initramfs and the DTB lie inside RAM and
//! do not overlap; all of RAM is one 1 GiB-aligned window, as the boot protocol requires of
//! the Image and initrd together.
#![forbid(unsafe_code)]

use crate::image::{ImageError, ImageHeader};

/// Guest RAM base.
pub const RAM_BASE: u64 = 0x4000_0000;
/// Guest RAM size (2 MiB frames from the manifest's `guest-ram` region).
pub const RAM_SIZE: u64 = 256 << 20;
/// End of guest RAM.
pub const RAM_END: u64 = RAM_BASE + RAM_SIZE;
/// The 2 MiB-aligned base the Image is placed from (as QEMU does: RAM base + 2 MiB).
pub const IMAGE_BASE: u64 = RAM_BASE + (2 << 20);
/// Where the initramfs starts.
pub const INITRD_BASE: u64 = RAM_BASE + (128 << 20);
/// Where the device tree goes (8-byte aligned, at most 2 MiB, mapped cacheable by Linux).
pub const DTB_BASE: u64 = RAM_END - (2 << 20);
/// Largest device tree.
pub const DTB_MAX: u64 = 2 << 20;
/// GICv2 distributor (trapped).
pub const GICD_BASE: u64 = 0x0800_0000;
/// GICv2 distributor size.
pub const GICD_SIZE: u64 = 0x1000;
/// GICv2 CPU interface: the server's GICV pages (Zircon's `kGicvAddress`).
pub const GICC_BASE: u64 = 0x8_0000_1000;
/// GICv2 CPU interface size (GICC_DIR is at 0x1000).
pub const GICC_SIZE: u64 = 0x2000;
/// PL011 UART (trapped).
pub const UART_BASE: u64 = 0x0900_0000;
/// PL011 register page.
pub const UART_SIZE: u64 = 0x1000;
/// The UART's SPI number (INTID 32 + 1).
pub const UART_SPI: u32 = 1;
/// The UART's clock (QEMU's `clk24mhz`), in the device tree only.
pub const UART_CLOCK_HZ: u32 = 24_000_000;

/// Where everything goes for one boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Image load address (= entry point).
    pub image: u64,
    /// Initramfs start.
    pub initrd: u64,
    /// Initramfs end (exclusive).
    pub initrd_end: u64,
    /// Device tree address (x0 at entry).
    pub dtb: u64,
}

/// Why the files do not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceError {
    /// The Image does not fit below the initramfs.
    Image(ImageError),
    /// The initramfs is larger than its room.
    Initrd {
        /// Its size.
        len: u64,
        /// Its room.
        room: u64,
    },
}

impl core::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlaceError::Image(e) => {
                write!(f, "{e} (Image room: {:#x}..{INITRD_BASE:#x})", IMAGE_BASE)
            }
            PlaceError::Initrd { len, room } => write!(
                f,
                "the initramfs is {len:#x} bytes; guest RAM leaves it {room:#x} ({INITRD_BASE:#x}..{DTB_BASE:#x})"
            ),
        }
    }
}

/// Places an Image with header `header` and an initramfs of `initrd_len` bytes.
pub fn place(header: &ImageHeader, initrd_len: u64) -> Result<Placement, PlaceError> {
    let image = header
        .place(IMAGE_BASE, INITRD_BASE)
        .map_err(PlaceError::Image)?;
    let room = DTB_BASE - INITRD_BASE;
    if initrd_len > room {
        return Err(PlaceError::Initrd {
            len: initrd_len,
            room,
        });
    }
    Ok(Placement {
        image,
        initrd: INITRD_BASE,
        initrd_end: INITRD_BASE + initrd_len,
        dtb: DTB_BASE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(image_size: u64) -> ImageHeader {
        ImageHeader {
            text_offset: 0,
            image_size,
            flags: 0xA,
        }
    }

    #[test]
    fn debian_kernel_fits() {
        let p = place(&header(0x1AB_0000), 1_000_000).unwrap();
        assert_eq!(p.image, 0x4020_0000);
        assert_eq!(p.initrd, 0x4800_0000);
        assert_eq!(p.initrd_end, 0x4800_0000 + 1_000_000);
        assert_eq!(p.dtb % 8, 0);
        assert!(p.image + 0x1AB_0000 <= p.initrd && p.initrd_end <= p.dtb);
        assert!(p.dtb + DTB_MAX <= RAM_END);
    }

    #[test]
    fn too_large_files_are_refused() {
        assert!(matches!(
            place(&header(200 << 20), 0),
            Err(PlaceError::Image(_))
        ));
        let e = place(&header(0x1AB_0000), 127 << 20).unwrap_err();
        assert_eq!(
            e,
            PlaceError::Initrd {
                len: 127 << 20,
                room: 126 << 20
            }
        );
        assert!(std::format!("{e}").contains("initramfs"));
    }

    #[test]
    fn ram_is_inside_one_gib_window() {
        assert_eq!(RAM_BASE / (1 << 30), (RAM_END - 1) / (1 << 30));
    }
}
