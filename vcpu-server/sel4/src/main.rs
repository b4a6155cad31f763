//! The VCPU server component for seL4: the seL4 [`vcpu_server::Backend`] and the event loop
//! around the core [`vcpu_server::Server`]. Program name in manifests: `vcpu-server`.
//!
//! Start-up (thread 0 of a `role = "server"` component, x0 = boot page, x1 = thread index):
//! check the boot page ([`boot::check`]), connect the backend to the IPC buffer, CNode slots and
//! untyped memory, build the frame-size probe and count the GIC list registers
//! ([`backend::Sel4Backend::start`]), add every client and install every initial handle in plan
//! order, checking the values the clients were told ([`boot::install`]), reserve a reply slot
//! per client thread, print one summary line, report the start-up to the root task
//! (`root_task::Status::Done`: the server's own checks are complete) and serve
//! ([`transport::Transport::run`]).
//! Any start-up error is printed with the test-failure sentinel and stops the server.
//!
//! The server (about 150 KiB) lives in a `static` built at compile time ([`raw::Global`]), so it
//! never passes through the thread's stack.
//!
//! On the host this binary is a stub that says so; its modules are compiled for unit tests.
#![cfg_attr(target_os = "none", no_std, no_main)]
// On the host only the unit tests use the modules.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

#[cfg(any(test, target_os = "none"))]
mod alloc;
#[cfg(any(test, target_os = "none"))]
mod backend;
#[cfg(all(feature = "bench", target_os = "none"))]
mod bench;
#[cfg(any(test, target_os = "none"))]
mod boot;
#[cfg(test)]
mod fake;
#[cfg(any(test, target_os = "none"))]
mod frame;
#[cfg(any(test, target_os = "none"))]
mod gic_enable;
#[cfg(any(test, target_os = "none"))]
mod guest;
mod raw;
#[cfg(any(test, target_os = "none"))]
mod tables;
#[cfg(any(test, target_os = "none"))]
mod transport;
#[cfg(any(test, target_os = "none"))]
mod vcpu;

#[cfg(any(test, target_os = "none"))]
pub(crate) use backend::kernel_status;

/// Prints a diagnostic line on the kernel console.
#[cfg(any(test, target_os = "none"))]
pub(crate) fn warn(args: core::fmt::Arguments<'_>) {
    sel4_runtime::debug_println!("vcpu-server: {}", args);
}

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "vcpu-server runs only on seL4: build it for aarch64-unknown-none (cargo xtask build)"
    );
}

#[cfg(target_os = "none")]
mod component {
    use sel4::Cap;
    use vcpu_protocol::ThreadId;
    use vcpu_server::Server;

    use crate::backend::Sel4Backend;
    use crate::raw::{self, Global};
    use crate::transport::Transport;
    use crate::{boot, warn};

    sel4_runtime::entry!(main);

    static SERVER: Global<Server<Sel4Backend>> = Global::new(Server::new(Sel4Backend::new()));

    /// Tells the root task that start-up worked (`Status::Done` with one passed check: the
    /// server's own checks are complete; it keeps serving).
    fn report_started(server: &mut Server<Sel4Backend>, installed: &boot::Installed) {
        sel4_runtime::debug_println!(
            "PASS vcpu-server.main start-up: {} clients, {} handles with their planned values",
            installed.clients,
            installed.grants
        );
        let done = root_task::Status::Done {
            passed: 1,
            failed: 0,
        };
        let fault_ep = Cap::from_cptr(plan::cspace::fault(0));
        let acked = server
            .backend_mut()
            .k
            .ipc()
            .is_ok_and(|ipc| done.send(ipc, fault_ep));
        if !acked {
            warn(format_args!(
                "the root task did not acknowledge the start-up report"
            ));
        }
    }

    /// Prints a start-up error and the failure sentinel, then stops the thread.
    fn fail(args: core::fmt::Arguments<'_>) -> ! {
        sel4_runtime::debug_println!("vcpu-server: error: {}", args);
        sel4_runtime::debug_println!("{}", sel4_runtime::FAILURE_SENTINEL);
        sel4_runtime::stop()
    }

    fn main(boot_page: usize, thread: usize) -> ! {
        // Safety: `boot_page` is the thread's initial x0, which the root task sets to the boot
        // page it mapped read-only at plan::vspace::BOOT_PAGE for the program's life.
        let page = match unsafe { raw::boot_page(boot_page) } {
            Ok(p) => p,
            Err(e) => fail(format_args!("no boot page at {boot_page:#x}: {e:?}")),
        };
        if let Some(t) = page.threads().get(thread) {
            sel4_runtime::set_own_tcb(Cap::from_cptr(t.tcb));
        }
        let start = match boot::check(page, thread) {
            Ok(s) => s,
            Err(e) => fail(format_args!("{e}")),
        };
        // Safety: `start.ipc_buffer` is this thread's IPC buffer from its boot page (the root
        // task configured and mapped it for the program's life); this is the only call.
        let Some(ipc) = (unsafe { raw::ipc_buffer(start.ipc_buffer) }) else {
            fail(format_args!(
                "bad IPC buffer address {:#x}",
                start.ipc_buffer
            ))
        };
        let Some(server) = SERVER.take() else {
            fail(format_args!("started twice"))
        };
        let b = server.backend_mut();
        b.k.connect(ipc, start.cfg.cnode);
        b.k.slots.set_range(start.first_free, start.slot_limit);
        for (i, bits) in page.server.untyped_size_bits().iter().enumerate() {
            if let Err(s) = b.k.add_untyped(start.untyped_first + i as u64, *bits) {
                fail(format_args!(
                    "untyped {i} of 2^{bits} bytes is unusable: {s:?}"
                ));
            }
        }
        let Some(rx) = b.k.slots.alloc() else {
            fail(format_args!("no slot to receive capabilities"))
        };
        if let Err(s) = b.start(start.cfg) {
            fail(format_args!("cannot set up the backend: {s:?}"));
        }
        // The probe's objects live forever: keep clients' objects out of their chunks.
        b.k.untyped.seal();
        // Each client's memory: its own pool, cut into cells.
        for c in page.server.clients() {
            let client = vcpu_protocol::ClientId(c.client_id);
            if let Err(s) = b.add_pool(client, c.memory_slot, c.memory_bits()) {
                fail(format_args!(
                    "client {}: its memory of {} KiB is unusable: {s:?}",
                    c.client_id,
                    c.memory_bytes() / 1024
                ));
            }
        }
        let installed = match boot::install(server, &page.server) {
            Ok(i) => i,
            Err(e) => fail(format_args!("{e}")),
        };
        let mut transport = Transport::new(start.cfg.endpoint, rx);
        transport.set_plan(&page.server);
        for c in page.server.clients() {
            for &t in c.thread_ids() {
                if !transport.reserve(server.backend_mut(), ThreadId(t)) {
                    fail(format_args!("no reply slot for client thread {t}"));
                }
            }
        }
        let b = server.backend();
        transport.set_baseline(b.k.untyped.free_bytes(), b.k.slots.free_count());
        sel4_runtime::debug_println!(
            "vcpu-server: ready: {} clients ({} threads), {} handles granted, {}/{} KiB untyped free \
             ({} untypeds), {} list registers, {} free slots, VCPU priority {}",
            installed.clients,
            installed.threads,
            installed.grants,
            b.k.untyped.free_bytes() / 1024,
            b.k.untyped.total_bytes() / 1024,
            b.k.untyped.count(),
            vcpu_server::Backend::num_list_registers(b),
            b.k.slots.free_count(),
            b.config().vcpu_priority,
        );
        report_started(server, &installed);
        #[cfg(feature = "bench")]
        crate::bench::baselines(server, start.cfg.endpoint);
        transport.run(server);
        warn(format_args!("event loop ended"));
        fail(format_args!("the IPC buffer is gone"))
    }
}
