//! The loadable segments of a component's ELF image.
//!
//! The build already checked each image with `manifest::check_elf` (static AArch64 executable,
//! segments inside `plan::vspace::IMAGE_START..IMAGE_END`, no overlap); this re-reads only what
//! loading needs, with every offset bounds-checked, so a damaged image is refused with a reason
//! rather than loaded wrongly.

use plan::vspace::{IMAGE_END, IMAGE_START};

/// Most `PT_LOAD` segments an image may have.
pub const MAX_SEGMENTS: usize = 8;

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Virtual address of its first byte.
    pub vaddr: u64,
    /// Size in memory (the bytes past `data` are zero).
    pub memsz: u64,
    /// The bytes from the file.
    pub data: &'a [u8],
    /// Executable.
    pub exec: bool,
    /// Writable.
    pub write: bool,
}

impl Segment<'_> {
    /// One past its last byte.
    pub const fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

/// A parsed image: entry point and segments, by ascending address.
#[derive(Clone, Debug)]
pub struct Image<'a> {
    /// Entry point.
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero size, sorted by address.
    pub segments: heapless::Vec<Segment<'a>, MAX_SEGMENTS>,
}

fn word<const N: usize>(b: &[u8], off: u64) -> Result<[u8; N], &'static str> {
    let off = usize::try_from(off).map_err(|_| "offset out of range")?;
    b.get(off..off.checked_add(N).ok_or("offset out of range")?)
        .and_then(|s| s.try_into().ok())
        .ok_or("truncated")
}

fn u16_at(b: &[u8], off: u64) -> Result<u16, &'static str> {
    word(b, off).map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], off: u64) -> Result<u32, &'static str> {
    word(b, off).map(u32::from_le_bytes)
}

fn u64_at(b: &[u8], off: u64) -> Result<u64, &'static str> {
    word(b, off).map(u64::from_le_bytes)
}

/// Parses `bytes` (a 64-bit little-endian AArch64 executable).
pub fn parse(bytes: &[u8]) -> Result<Image<'_>, &'static str> {
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) || bytes.get(4..6) != Some(&[2, 1]) {
        return Err("not a 64-bit little-endian ELF");
    }
    if u16_at(bytes, 18)? != 183 {
        return Err("not an AArch64 image");
    }
    let entry = u64_at(bytes, 24)?;
    let phoff = u64_at(bytes, 32)?;
    let phentsize = u64::from(u16_at(bytes, 54)?);
    let phnum = u64::from(u16_at(bytes, 56)?);
    if phentsize < 56 {
        return Err("program headers too small");
    }
    let mut segments: heapless::Vec<Segment<'_>, MAX_SEGMENTS> = heapless::Vec::new();
    for i in 0..phnum {
        let ph = phoff
            .checked_add(i * phentsize)
            .ok_or("program header out of range")?;
        if u32_at(bytes, ph)? != PT_LOAD {
            continue;
        }
        let flags = u32_at(bytes, ph + 4)?;
        let offset = u64_at(bytes, ph + 8)?;
        let vaddr = u64_at(bytes, ph + 16)?;
        let filesz = u64_at(bytes, ph + 32)?;
        let memsz = u64_at(bytes, ph + 40)?;
        if memsz == 0 {
            continue;
        }
        if filesz > memsz {
            return Err("segment file size exceeds its memory size");
        }
        let end = vaddr.checked_add(memsz).ok_or("segment wraps around")?;
        if vaddr < IMAGE_START || end > IMAGE_END {
            return Err("segment outside the image window");
        }
        let data = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(filesz).ok())
            .and_then(|(o, n)| bytes.get(o..o.checked_add(n)?))
            .ok_or("segment data outside the file")?;
        let seg = Segment {
            vaddr,
            memsz,
            data,
            exec: flags & PF_X != 0,
            write: flags & PF_W != 0,
        };
        segments.push(seg).map_err(|_| "too many segments")?;
    }
    segments.sort_unstable_by_key(|s| s.vaddr);
    if segments.windows(2).any(|w| w[0].end() > w[1].vaddr) {
        return Err("segments overlap");
    }
    if !segments
        .iter()
        .any(|s| s.exec && entry >= s.vaddr && entry < s.end())
    {
        return Err("entry point outside the executable segments");
    }
    Ok(Image { entry, segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF with the given `(flags, vaddr, data, memsz)` segments.
    fn elf(entry: u64, segs: &[(u32, u64, &[u8], u64)]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&183u16.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        let data_start = 64 + 56 * segs.len();
        let mut data = Vec::new();
        for &(flags, vaddr, bytes, memsz) in segs {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
            ph[4..8].copy_from_slice(&flags.to_le_bytes());
            ph[8..16].copy_from_slice(&((data_start + data.len()) as u64).to_le_bytes());
            ph[16..24].copy_from_slice(&vaddr.to_le_bytes());
            ph[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
            b.extend_from_slice(&ph);
            data.extend_from_slice(bytes);
        }
        b.extend_from_slice(&data);
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
        assert_eq!(parse(&ok[..70]).unwrap_err(), "truncated");
        assert_eq!(
            parse(b"\x7fELF").unwrap_err(),
            "not a 64-bit little-endian ELF"
        );
        let outside = elf(0x40_0000, &[(5, 0x40_0000, b"code", 4), (6, 0x0, b"", 8)]);
        assert_eq!(
            parse(&outside).unwrap_err(),
            "segment outside the image window"
        );
        let overlap = elf(
            0x40_0000,
            &[(5, 0x40_0000, b"code", 0x2000), (6, 0x40_1000, b"", 8)],
        );
        assert_eq!(parse(&overlap).unwrap_err(), "segments overlap");
        let entry = elf(0x50_0000, &[(5, 0x40_0000, b"code", 4)]);
        assert_eq!(
            parse(&entry).unwrap_err(),
            "entry point outside the executable segments"
        );
        let big = elf(0x40_0000, &[(5, 0x40_0000, b"code", 2)]);
        assert_eq!(
            parse(&big).unwrap_err(),
            "segment file size exceeds its memory size"
        );
        let mut cut = elf(0x40_0000, &[(5, 0x40_0000, b"code", 4)]);
        cut.truncate(cut.len() - 2);
        assert_eq!(parse(&cut).unwrap_err(), "segment data outside the file");
    }
}
