//! The console component: the only holder of the PL011 UART's registers (its device frame is
//! region `uart` of this component's boot page, mapped uncached). Every other component and
//! the root task print by calling its endpoint (protocol: `plan::console`); it keeps a line
//! buffer per sender badge and writes a sender's line to the UART when the line is complete,
//! so lines of different senders never interleave.
//!
//! It is a passive service: it answers print calls and nothing else, holds no capability but
//! its endpoint, its own CNode, VSpace, TCB and the UART frame, and never prints through
//! itself: its own panic output goes to the kernel's debug console (debug kernels only).
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]
#![deny(unsafe_code)]

mod lines;
mod start;
mod uart;

#[cfg(target_os = "none")]
sel4_runtime::entry!(run, stack_size = 16 * 1024);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("console is an seL4 component: build an image with `cargo xtask build`");
}

#[cfg(target_os = "none")]
fn run(boot: usize, index: usize) -> ! {
    use sel4::{Cap, MessageInfo, cap_type};

    // Never print through our own endpoint (that would wait for ourselves).
    sel4_runtime::use_kernel_console();
    let (boot, ipc) = start::thread(boot, index);
    let Some(region) = boot.region("uart") else {
        panic!("the console has no `uart` region");
    };
    let Some(uart) = start::uart(region) else {
        panic!("the `uart` region is not mapped");
    };
    uart.enable();
    let mut lines = lines::Lines::new();
    let ep: Cap<cap_type::Endpoint> = Cap::from_cptr(plan::cspace::CONSOLE);
    let (mut info, mut badge) = ep.recv(ipc);
    loop {
        let status = match plan::console::decode_label(info.label()) {
            Some(len) if info.length() * 8 >= len && info.extra_caps() == 0 => {
                let mut words = [0u64; 4];
                let have = info.length().min(4);
                words[..have].copy_from_slice(&ipc.msg()[..have]);
                let mut bytes = [0u8; plan::console::CHUNK];
                let n = plan::console::unpack(&words, len, &mut bytes);
                lines.feed(badge, &bytes[..n], |out| uart.write(out));
                0
            }
            // Not a print call: refused, nothing written.
            _ => 1,
        };
        (info, badge) = ep.reply_recv(ipc, MessageInfo::new(status, 0, 0, 0));
    }
}
