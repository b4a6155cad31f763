//! The benchmark image's raw seL4 baselines (`tests/bench/bench.toml`), run once at start-up
//! by the server built with its `bench` feature, before it serves; the product server has none
//! of this. See the `bench-summary` crate for the hand-shake with the benchmark client.
//!
//! 1. Raw null IPC: the client's empty `seL4_Call`s on its endpoint, each answered by an empty
//!    `seL4_ReplyRecv` (the client times them). The call after them is kept
//!    (`CNode_SaveCaller`) and answered at the end with the raw VM-fault loop's numbers.
//! 2. Raw VM-fault loop on a VCPU-bound TCB: a guest with nothing mapped at its entry address
//!    takes a stage-2 instruction abort; this thread, its fault handler on a private endpoint,
//!    writes the pc (`TCB_WriteRegisters`, one register) and answers with `seL4_ReplyRecv`; the
//!    guest faults again. Timed here: one loop is the time between two fault messages.
//! 3. Memory: the untyped memory a guest and a VCPU take (measured around their creation), and
//!    the server core's record sizes; printed as `bench memory ...` lines.
//!
//! Everything is torn down again; the server then serves normally. Measures, never asserts: a
//! failure prints a `bench error` line and the server carries on.

use bench_summary::{RAW_CALLS, SAMPLES, Summary, WARMUP};
use sel4::{Cap, MessageInfo, ObjectType, UserContext, WORD_DEPTH, cap_type};
use vcpu_server::{Backend, Server, VcpuKey};

use crate::backend::Sel4Backend;
use crate::vcpu;

/// Where the raw loop's guest starts: nothing is mapped there.
const UNMAPPED_ENTRY: u64 = 0x1000;

/// Runs the baselines on the server's endpoint `endpoint` (see the module docs).
pub fn baselines(server: &mut Server<Sel4Backend>, endpoint: u64) {
    let ep = Cap::<cap_type::Endpoint>::from_cptr(endpoint);
    let b = server.backend_mut();
    let Ok(reply) = b.k.slot() else {
        return error("no slot for the saved reply");
    };
    if !null_ipc(b, ep, reply) {
        return error("no IPC buffer");
    }
    let mut samples = [0u64; SAMPLES];
    let stats = match vm_fault_loop(b, &mut samples) {
        Ok(s) => s,
        Err(what) => {
            error(what);
            Summary::default()
        }
    };
    if let Ok(ipc) = b.k.ipc() {
        ipc.msg_mut()[..3].copy_from_slice(&stats.words());
        Cap::<cap_type::Reply>::from_cptr(reply).send(ipc, MessageInfo::new(0, 0, 0, 3));
    }
    b.k.release_slot(reply);
    sel4_runtime::debug_println!(
        "bench memory server-records guest {} vcpu {}",
        Server::<Sel4Backend>::GUEST_RECORD_BYTES,
        Server::<Sel4Backend>::VCPU_RECORD_BYTES
    );
}

fn error(what: &str) {
    sel4_runtime::debug_println!("bench error: vcpu-server: {what}");
}

/// Answers [`RAW_CALLS`] empty calls with empty replies, then keeps the next caller in `reply`.
fn null_ipc(b: &mut Sel4Backend, ep: Cap<cap_type::Endpoint>, reply: u64) -> bool {
    let cnode = b.k.cnode();
    let Ok(ipc) = b.k.ipc() else {
        return false;
    };
    ep.recv(ipc);
    for _ in 0..RAW_CALLS {
        ep.reply_recv(ipc, MessageInfo::new(0, 0, 0, 0));
    }
    cnode.cnode_save_caller(ipc, reply, WORD_DEPTH).is_ok()
}

/// The raw VM-fault loop; also prints the memory a guest and a VCPU take.
fn vm_fault_loop(
    b: &mut Sel4Backend,
    samples: &mut [u64; SAMPLES],
) -> Result<Summary, &'static str> {
    let free = b.k.untyped.free_bytes();
    // Paid from the server's own memory: the benchmark is no client.
    let guest = b
        .create_guest_in(crate::alloc::SERVER_POOL)
        .map_err(|_| "create_guest failed")?;
    let guest_bytes = free - b.k.untyped.free_bytes();
    let result = (|| {
        let private =
            b.k.retype(ObjectType::Endpoint, 0)
                .map_err(|_| "no endpoint")?;
        let mut params = b.params();
        params.endpoint = private.slot;
        let free = b.k.untyped.free_bytes();
        let key = VcpuKey {
            slot: 0,
            generation: 1,
        };
        let v = vcpu::create(&mut b.k, &params, guest.cap(), key, UNMAPPED_ENTRY, 1 << 31);
        let v = match v {
            Ok(v) => v,
            Err(_) => {
                b.k.free(private);
                return Err("vcpu create failed");
            }
        };
        let vcpu_bytes = free - b.k.untyped.free_bytes();
        sel4_runtime::debug_println!("bench memory kernel guest {guest_bytes} vcpu {vcpu_bytes}");
        let ep = private.cap::<cap_type::Endpoint>();
        let timed = b.k.ipc().map_err(|_| "no IPC buffer").and_then(|ipc| {
            v.tcb().tcb_resume(ipc).map_err(|_| "TCB_Resume failed")?;
            let mut ctx = UserContext::zeroed();
            ep.recv(ipc);
            let mut last = sel4_runtime::virtual_counter();
            for i in 0..WARMUP + SAMPLES {
                ctx.set_pc(ipc.msg()[0]);
                let _ = v.tcb().tcb_write_registers(ipc, false, 1, &ctx);
                ep.reply_recv(ipc, MessageInfo::new(0, 0, 0, 0));
                let now = sel4_runtime::virtual_counter();
                if i >= WARMUP {
                    samples[i - WARMUP] = now - last;
                }
                last = now;
            }
            Ok(())
        });
        vcpu::destroy(&mut b.k, v);
        b.k.free(private);
        timed?;
        Summary::of(samples).ok_or("no samples")
    })();
    b.destroy_guest(guest);
    result
}
