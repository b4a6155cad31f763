//! Writing into frames through a temporary mapping in the root task's own VSpace.
//!
//! This is the root task's only `unsafe` code. A frame is mapped read-write at a fixed scratch
//! window that nothing else in the root task uses, viewed as a byte slice while the closure
//! runs, and unmapped afterwards; the slice never outlives the mapping. Cache maintenance runs
//! while the frame is still mapped (the kernel's page cache operations need a mapping).
#![allow(unsafe_code)]

use sel4::{Cap, init};

use crate::alloc::Alloc;
use crate::error::{BootError, Context};
use crate::vspace;

/// The 4 KiB scratch window (far above the root task's image, IPC buffer and BootInfo).
const WINDOW_SMALL: u64 = 0x80_0000_0000;
/// The 2 MiB scratch window (2 MiB aligned, in its own 2 MiB block).
const WINDOW_LARGE: u64 = 0x80_0020_0000;

/// Cache maintenance after writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing (the frame is only ever used through cacheable mappings).
    Nothing,
    /// Clean the data cache to the point of coherency (the frame may be read with caches off,
    /// e.g. as guest memory).
    Clean,
    /// Make instruction fetches see the data (the frame holds code).
    UnifyInstruction,
}

/// Maps `frame` (`2^bits` bytes: 12 or 21) in the root VSpace, runs `write` on its bytes,
/// applies `after`, and unmaps it.
pub fn with_frame<F: sel4::FrameType, R>(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut Alloc,
    frame: Cap<F>,
    bits: u32,
    after: After,
    write: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, BootError> {
    let window = match bits {
        12 => WINDOW_SMALL,
        21 => WINDOW_LARGE,
        _ => {
            return Err(BootError::new(
                "map a frame into the root task",
                None,
                crate::error::Cause::BadPlan("frames are 4 KiB or 2 MiB"),
            ));
        }
    };
    vspace::map(
        ipc,
        alloc,
        frame,
        init::VSPACE,
        window,
        vspace::RW_DATA,
        "map a frame into the root task",
    )?;
    let size = 1usize << bits;
    // Safety: the frame was just mapped read-write at `window`, which is `size`-aligned and
    // `size` bytes long; the root task uses this window for nothing else, and the slice is dead
    // before the unmap below (syscalls are compiler barriers: the trap's asm may touch memory).
    let bytes = unsafe { core::slice::from_raw_parts_mut(window as *mut u8, size) };
    let result = write(bytes);
    let end = size as u64;
    let maintained = match after {
        After::Nothing => Ok(()),
        After::Clean => frame.frame_clean_data(ipc, 0, end),
        After::UnifyInstruction => frame.frame_unify_instruction(ipc, 0, end),
    };
    let unmapped = frame.frame_unmap(ipc);
    maintained.at("cache maintenance of a loaded frame", window)?;
    unmapped.at("unmap a frame from the root task", window)?;
    Ok(result)
}
