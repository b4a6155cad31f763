//! The console protocol: how components print through the console component.
//!
//! The console component (`components/console`) is the only holder of the PL011 UART's device
//! frame (QEMU `virt`: [`UART_PADDR`]); the manifest compiler adds it to every system, and the
//! root task creates and starts it before any other component. Every component gets a badged
//! endpoint capability to it at [`crate::cspace::CONSOLE`] (the root task keeps one with
//! [`ROOT_BADGE`]).
//!
//! A print is a `Call` carrying up to [`CHUNK`] bytes in the four message registers (x2..x5,
//! bytes in memory order, little-endian words), with label [`LABEL`] | length. Nothing travels
//! in the IPC buffer and no capability is transferred, so a thread can print without an IPC
//! buffer (a panic handler can). The console answers with an empty reply once the bytes are
//! accepted, so printing is synchronous: a line printed before the root task powers the
//! machine off is on the UART.
//!
//! The console keeps one line buffer per badge and writes a sender's line to the UART when its
//! `\n` arrives (or the buffer is full), so lines of different components never interleave.
//! Threads of one component share a badge; their lines interleave only if one is preempted in
//! the middle of a line that spans several calls.
//!
//! Decision: IPC rather than a shared ring, because it needs no shared frames, gives ordering
//! and back-pressure for free, and works from a panic handler; its cost (one round trip per 32
//! bytes) only matters for output volume the project never produces.

/// Physical address of the PL011 on QEMU `virt` (4 KiB of registers).
pub const UART_PADDR: u64 = 0x0900_0000;
/// Bytes per print call.
pub const CHUNK: usize = 32;
/// Message label of a print call: `LABEL | length` (length in `0..=CHUNK`).
pub const LABEL: u64 = 0xC0_0000;
/// The root task's badge.
pub const ROOT_BADGE: u64 = 0xFFFF;

/// The badge of component `index`'s console capability (never 0: 0 is the console's own).
pub const fn badge(index: u16) -> u64 {
    index as u64 + 1
}

/// The label of a print call of `len` bytes.
pub const fn label(len: usize) -> u64 {
    LABEL | len as u64
}

/// The byte count of a print call's label, or `None` if it is not one.
pub const fn decode_label(label: u64) -> Option<usize> {
    if label & !0xFF != LABEL || (label & 0xFF) as usize > CHUNK {
        return None;
    }
    Some((label & 0xFF) as usize)
}

/// Packs up to [`CHUNK`] bytes into message words (more are cut off).
pub fn pack(bytes: &[u8]) -> [u64; 4] {
    let mut words = [0u64; 4];
    for (i, b) in bytes.iter().take(CHUNK).enumerate() {
        words[i / 8] |= u64::from(*b) << (8 * (i % 8));
    }
    words
}

/// Unpacks `len` bytes (at most [`CHUNK`]) from message words.
pub fn unpack(words: &[u64; 4], len: usize, out: &mut [u8; CHUNK]) -> usize {
    let len = len.min(CHUNK);
    for (i, b) in out.iter_mut().enumerate().take(len) {
        *b = (words[i / 8] >> (8 * (i % 8))) as u8;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = b"PASS badge-arrives: 0123456789ab";
        assert_eq!(text.len(), CHUNK);
        let words = pack(text);
        let mut out = [0u8; CHUNK];
        let n = unpack(&words, decode_label(label(CHUNK)).unwrap(), &mut out);
        assert_eq!(&out[..n], text);
        assert_eq!(decode_label(label(33)), None);
        assert_eq!(decode_label(0x5354_0001), None);
        assert_eq!(decode_label(label(0)), Some(0));
        assert_ne!(badge(0), 0);
    }
}
