//! Printing: where the bytes of `debug_print!` go.
//!
//! A thread prints through one of three sinks, chosen by one process-wide word:
//! - a **console endpoint** (the default for components: slot [`CONSOLE_SLOT`], the badged
//!   capability every component gets): each print is a `Call` to the console component with up
//!   to `plan::console::CHUNK` bytes in registers, answered once written (protocol in the `plan`
//!   crate's `console` module). No IPC buffer is used, so a panic handler can print;
//! - **pending** (the root task until the console runs): bytes are kept in a bounded buffer
//!   (the oldest are kept, the rest counted as lost) and sent when [`set_console`] names the
//!   console, or written by [`flush_pending_to_kernel`];
//! - the **kernel console** (`seL4_DebugPutChar`, debug kernels only; e.g. a root task that runs
//!   without a console component): on a release kernel this prints nothing.
//!
//! Invariant: only the root task (single-threaded) uses the pending buffer, so the atomics
//! below need no stronger ordering than their own.

use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

/// The console endpoint's slot in every component's CSpace (`plan::cspace::CONSOLE`; the root
/// task checks that they agree).
pub const CONSOLE_SLOT: u64 = 8;
/// Bytes per print call (`plan::console::CHUNK`).
const CHUNK: usize = 32;
/// Label of a print call: `LABEL | length` (`plan::console::LABEL`).
const LABEL: u64 = 0xC0_0000;

/// Sink word: the pending buffer.
const PENDING: u64 = 0;
/// Sink word: the kernel's debug console.
const KERNEL: u64 = u64::MAX;

static SINK: AtomicU64 = AtomicU64::new(CONSOLE_SLOT);

const PENDING_SIZE: usize = 16 * 1024;
static PENDING_BYTES: [AtomicU8; PENDING_SIZE] = [const { AtomicU8::new(0) }; PENDING_SIZE];
static PENDING_LEN: AtomicUsize = AtomicUsize::new(0);
static PENDING_LOST: AtomicUsize = AtomicUsize::new(0);

/// Prints through the console endpoint `cptr` from now on, first sending whatever is pending.
pub fn set_console(cptr: u64) {
    SINK.store(cptr, Ordering::SeqCst);
    let len = PENDING_LEN.swap(0, Ordering::SeqCst);
    let mut w = Chunker::new(cptr);
    for b in PENDING_BYTES.iter().take(len) {
        w.push(b.load(Ordering::Relaxed));
    }
    w.flush();
    let lost = PENDING_LOST.swap(0, Ordering::SeqCst);
    if lost > 0 {
        crate::debug_println!("[{lost} bytes printed before the console started were lost]");
    }
}

/// Keeps printed bytes until [`set_console`] (the root task's start).
pub fn hold_output() {
    SINK.store(PENDING, Ordering::SeqCst);
}

/// Prints through the kernel's debug console (`seL4_DebugPutChar`; nothing on release
/// kernels), first writing whatever is pending there.
pub fn use_kernel_console() {
    SINK.store(KERNEL, Ordering::SeqCst);
    flush_pending_to_kernel();
}

/// If output is still pending (no console yet), writes it to the kernel's debug console: the
/// last resort of a root task that fails before the console runs (on a release kernel it is
/// lost).
pub fn flush_pending_to_kernel() {
    let len = PENDING_LEN.swap(0, Ordering::SeqCst);
    for b in PENDING_BYTES.iter().take(len) {
        sel4::debug_put_char(b.load(Ordering::Relaxed));
    }
}

/// Collects bytes into print calls to one console endpoint.
struct Chunker {
    cptr: u64,
    buf: [u8; CHUNK],
    len: usize,
}

impl Chunker {
    fn new(cptr: u64) -> Chunker {
        Chunker {
            cptr,
            buf: [0; CHUNK],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
        if self.len == CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let mut words = [0u64; 4];
        for (i, b) in self.buf[..self.len].iter().enumerate() {
            words[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
        let ep: sel4::Cap<sel4::cap_type::Endpoint> = sel4::Cap::from_cptr(self.cptr);
        ep.call_registers(LABEL | self.len as u64, &words);
        self.len = 0;
    }
}

/// The `core::fmt::Write` sink behind `debug_print!` for one print.
struct Writer {
    sink: u64,
    chunk: Chunker,
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            match self.sink {
                PENDING => {
                    let at = PENDING_LEN.load(Ordering::Relaxed);
                    match PENDING_BYTES.get(at) {
                        Some(slot) => {
                            slot.store(b, Ordering::Relaxed);
                            PENDING_LEN.store(at + 1, Ordering::Relaxed);
                        }
                        None => {
                            PENDING_LOST.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                KERNEL => sel4::debug_put_char(b),
                _ => self.chunk.push(b),
            }
        }
        Ok(())
    }
}

pub(crate) fn print(args: fmt::Arguments<'_>) {
    let sink = SINK.load(Ordering::SeqCst);
    let mut w = Writer {
        sink,
        chunk: Chunker::new(sink),
    };
    // Writer::write_str never fails.
    let _ = fmt::Write::write_fmt(&mut w, args);
    w.chunk.flush();
}
