//! A recording fake kernel for host tests of the backend and the transport (test builds only).
//!
//! `sel4::host::set_syscall_handler` routes every syscall of the process to [`handler`]; the
//! log and the answering rule are thread-local, so tests running in parallel do not mix.
//! By default every invocation succeeds with no words.

use std::boxed::Box;
use std::cell::RefCell;
use std::vec::Vec;

use sel4::host::set_syscall_handler;
use sel4::{IpcBuffer, MessageInfo, Syscall, SyscallRegs};

use crate::alloc::Objects;

/// One syscall as the fake kernel saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The syscall.
    pub sys: Syscall,
    /// x0 (the invoked capability).
    pub cptr: u64,
    /// The message label (the invocation label).
    pub label: u64,
    /// The message words.
    pub words: Vec<u64>,
    /// The extra capabilities' cptrs.
    pub caps: Vec<u64>,
}

/// Answers an invocation: `(error label, words)`.
pub type Rule = fn(&Call) -> (u64, Vec<u64>);

thread_local! {
    static LOG: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    static RULE: RefCell<Option<Rule>> = const { RefCell::new(None) };
    static EMPTY: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// seL4's `cap_reply_cap` type number, what `DebugCapIdentify` answers for a non-empty slot.
pub const REPLY_CAP_TYPE: u64 = 8;

/// Makes `DebugCapIdentify` report slot `cptr` empty (type 0), as after the kernel deleted a
/// saved reply capability.
pub fn set_empty(cptr: u64) {
    EMPTY.with(|e| e.borrow_mut().push(cptr));
}

fn handler(sys: Syscall, regs: &mut SyscallRegs, buf: Option<&mut IpcBuffer>) {
    let info = MessageInfo::from_word(regs.x1);
    let mut words: Vec<u64> = regs.mrs.to_vec();
    words.truncate(info.length());
    let mut caps = Vec::new();
    if let Some(b) = buf.as_deref() {
        for i in 4..info.length() {
            words.push(b.msg()[i]);
        }
        caps.extend_from_slice(&b.caps_or_badges()[..info.extra_caps()]);
    }
    let call = Call {
        sys,
        cptr: regs.x0,
        label: info.label(),
        words,
        caps,
    };
    let (label, reply) = RULE.with(|r| r.borrow().map_or((0, Vec::new()), |rule| rule(&call)));
    LOG.with(|l| l.borrow_mut().push(call));
    if let Some(b) = buf {
        for (i, w) in reply.iter().enumerate().skip(4) {
            b.msg_mut()[i] = *w;
        }
    }
    for (m, w) in regs.mrs.iter_mut().zip(&reply) {
        *m = *w;
    }
    regs.x0 = if sys == Syscall::DebugCapIdentify {
        let empty = EMPTY.with(|e| e.borrow().contains(&regs.x0));
        if empty { 0 } else { REPLY_CAP_TYPE }
    } else {
        0
    };
    regs.x1 = MessageInfo::new(label, 0, 0, reply.len() as u64).word();
}

/// Installs the fake kernel for this thread with `rule` (None: everything succeeds) and clears
/// the log.
pub fn install(rule: Option<Rule>) {
    set_syscall_handler(Some(handler));
    RULE.with(|r| *r.borrow_mut() = rule);
    LOG.with(|l| l.borrow_mut().clear());
    EMPTY.with(|e| e.borrow_mut().clear());
}

/// Every syscall logged since [`install`] or the last `take`/`take_all`.
pub fn take_all() -> Vec<Call> {
    LOG.with(|l| core::mem::take(&mut *l.borrow_mut()))
}

/// The invocations (`Call`s) logged since [`install`] or the last `take`/`take_all`.
pub fn take() -> Vec<Call> {
    take_all()
        .into_iter()
        .filter(|c| c.sys == Syscall::Call)
        .collect()
}

/// A kernel context: CNode slot 1, free slots 100..4096, one 1 MiB untyped at slot 40 (added
/// whole, without cutting chunks).
pub fn objects() -> Objects {
    let mut k = Objects::new();
    k.connect(Box::leak(Box::new(IpcBuffer::new())), 1);
    k.slots.set_range(100, 4096);
    k.untyped.add(40, 20, 0);
    k
}

/// A server on the heap, built in a frame of its own (it is too large for a test thread's
/// stack to hold several copies, as an unoptimised caller building it in place would).
#[inline(never)]
pub fn server() -> Box<vcpu_server::Server<crate::backend::Sel4Backend>> {
    Box::new(vcpu_server::Server::new(crate::backend::Sel4Backend::new()))
}

/// First slot of the cells [`add_pool`] records.
pub const CELL_SLOTS: u64 = 8192;

/// Records `cells` 4 KiB cells of client pool `pool` in `k`, as `Objects::add_pool` would
/// after cutting them (at slots from [`CELL_SLOTS`] + 256 * `pool`).
pub fn add_pool(k: &mut Objects, pool: u8, cells: u64) {
    for i in 0..cells {
        assert!(
            k.untyped
                .add_cell(CELL_SLOTS + 256 * u64::from(pool) + i, pool)
        );
    }
}

/// The invocation label number of `label`.
pub fn label(l: sel4::InvocationLabel) -> u64 {
    l.value()
}
