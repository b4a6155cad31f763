//! After boot: the root task waits on its fault endpoint for the rest of the run.
//!
//! Each message carries the badge `plan::fault_badge(component, thread)` of the sender's fault
//! endpoint capability. [`crate::policy::decide`] says what to do with it (see there): in a
//! product system a fault (or a forged one) stops the sender's whole component alone
//! (`root-task: stopped component <name>: <fault>`), status messages are refused, and the root
//! task never powers the machine off. In a test system the [`Judge`] turns status messages and
//! faults into PASS/FAIL lines and a verdict (a faulting thread is reported as
//! `root-task: component <name> thread <t> faulted: <decoded fault>` and suspended); once it
//! has one, the root task powers the machine off (PSCI SYSTEM_OFF through the SMC capability)
//! so QEMU exits.
//!
//! Restart policy: a component the plan allows restarts (`restart = "on-failure"`) is made
//! again each time it is stopped, until it has used them up: the server is told that the old
//! instance stopped (`LABEL_CLIENT_STOPPED`, as for any stop), the old instance's objects are
//! destroyed (its memory instance revoked), a fresh instance is created exactly as at boot
//! (image loaded again from the pristine ELF, new CNode, VSpace, TCBs and frames, the plan's
//! capabilities and badges; on MCS kernels new scheduling contexts and reply objects), the
//! server is told the client restarts (`LABEL_CLIENT_RESTARTED`: a fresh client with its
//! initial handles), and only then are its threads started. The judge of a test system sees
//! only the last stop.

use plan::{Plan, SystemKind};
use root_task::Status;
use sel4::{Cap, Fault, MessageInfo, cap_type, init};
use sel4_runtime::{DebugWriter, debug_println};
use vcpu_protocol::{LABEL_CLIENT_RESTARTED, LABEL_CLIENT_STOPPED};

use crate::Booted;
use crate::faults::Describe;
use crate::judge::{Judge, Names};
use crate::policy::{self, Decision, Message, Reason};
use crate::spawn::Process;

/// Component and thread names from the plan.
pub struct PlanNames(pub &'static Plan);

impl Names for PlanNames {
    fn component(&self, component: u16) -> &str {
        self.0
            .components
            .get(usize::from(component))
            .map_or("?", |c| c.name)
    }

    fn thread(&self, component: u16, thread: u16) -> &str {
        self.0
            .components
            .get(usize::from(component))
            .and_then(|c| c.threads.get(usize::from(thread)))
            .map_or("?", |t| t.name)
    }
}

/// Serves the fault endpoint forever.
pub fn run(ipc: &mut sel4::IpcBuffer, plan: &'static Plan, booted: Booted) -> ! {
    let Booted {
        mut processes,
        fault_ep,
        mut judge,
        supervisor,
        mut alloc,
        shared,
    } = booted;
    let names = PlanNames(plan);
    let mut out = DebugWriter;
    // Per component: stopped, restarts made; per thread: reported `Done` once.
    let mut stopped = [false; crate::MAX_COMPONENTS];
    let mut restarts = [0u16; crate::MAX_COMPONENTS];
    let mut reported = [[false; plan::MAX_THREADS]; crate::MAX_COMPONENTS];
    loop {
        let (info, badge) = fault_ep.recv(ipc);
        let mut words = [0u64; sel4::MSG_MAX_LENGTH];
        let len = info.length().min(words.len());
        words[..len].copy_from_slice(&ipc.msg()[..len]);
        let words = &words[..len];
        let Some((c, t)) = plan::decode_fault_badge(badge) else {
            debug_println!(
                "root-task: ignored a message with badge {badge:#x} (label {:#x})",
                info.label()
            );
            continue;
        };
        let tcb = processes
            .get(usize::from(c))
            .and_then(|p| p.tcbs.get(usize::from(t)));
        let Some(&tcb) = tcb else {
            debug_println!("root-task: ignored a message from unknown thread {c}.{t}");
            continue;
        };
        let message = if Status::is_status_label(info.label()) {
            Status::decode(info, words).map_or(Message::MalformedStatus, Message::Status)
        } else {
            Message::Fault
        };
        let (ci, ti) = (usize::from(c), usize::from(t));
        let sender = policy::Sender {
            stopped: stopped.get(ci).copied().unwrap_or(false),
            expect_stopped: plan
                .components
                .get(ci)
                .is_some_and(|comp| comp.expect_stopped),
            reported: reported
                .get(ci)
                .and_then(|r| r.get(ti))
                .copied()
                .unwrap_or(false),
        };
        let decision = policy::decide(plan.kind, sender, message);
        if let Message::Status(Status::Done { .. }) = message {
            if let Some(r) = reported.get_mut(ci).and_then(|r| r.get_mut(ti)) {
                *r = true;
            }
        }
        let decided = match decision {
            Decision::Drop => Ok(None),
            Decision::Answer(label) => {
                if label != 0 {
                    let why = match plan.kind {
                        SystemKind::Product => "a product system judges nothing",
                        SystemKind::Test => "malformed",
                    };
                    debug_println!("root-task: refused a status message from {c}.{t} ({why})");
                }
                ipc.reply(MessageInfo::new(label, 0, 0, 0));
                Ok(None)
            }
            Decision::Stop(reason) => {
                if let Some(s) = stopped.get_mut(ci) {
                    *s = true;
                }
                let why = match reason {
                    Reason::Fault => {
                        let fault = Fault::decode(info, words);
                        debug_println!(
                            "root-task: stopped component {}: {}",
                            names.component(c),
                            Describe(&fault)
                        );
                        "it faulted or sent a fault message"
                    }
                    Reason::ReportedTwice => {
                        debug_println!(
                            "root-task: stopped component {}: thread {t} reported twice",
                            names.component(c)
                        );
                        "a thread reported twice"
                    }
                };
                stop_component(ipc, &processes, c);
                let server_runs = !stopped
                    .get(usize::from(plan.server))
                    .copied()
                    .unwrap_or(false);
                if server_runs {
                    notify_server(ipc, plan, supervisor, c, LABEL_CLIENT_STOPPED);
                }
                let allowed = plan.components.get(ci).map_or(0, |comp| comp.restarts);
                let made = restarts.get(ci).copied().unwrap_or(u16::MAX);
                let restarted = made < allowed
                    && restart(
                        ipc,
                        &mut alloc,
                        plan,
                        &shared,
                        &mut processes,
                        (c, made + 1, allowed),
                        server_runs.then_some(supervisor),
                    );
                if restarted {
                    restarts[ci] += 1;
                    stopped[ci] = false;
                    reported[ci] = [false; plan::MAX_THREADS];
                    Ok(None)
                } else {
                    match plan.kind {
                        SystemKind::Test => judge.stopped(&mut out, &names, c, why),
                        SystemKind::Product => Ok(None),
                    }
                }
            }
            Decision::Judge => {
                judge_message(ipc, &mut judge, &mut out, &names, (c, t), tcb, info, words)
            }
        };
        if plan.kind == SystemKind::Test {
            if let Ok(Some(_)) = decided {
                power_off(ipc);
            }
        }
    }
}

/// Suspends every thread of component `c` (it stays stopped; the others keep running).
fn stop_component(ipc: &mut sel4::IpcBuffer, processes: &[Process], c: u16) {
    let Some(p) = processes.get(usize::from(c)) else {
        return;
    };
    for (t, tcb) in p.tcbs.iter().enumerate() {
        if let Err(e) = tcb.tcb_suspend(ipc) {
            debug_println!("root-task: could not suspend thread {c}.{t}: {e}");
        }
    }
}

/// Makes stopped component `c` again and starts it (see the module docs); `n` of `allowed`
/// restarts. The server is told before the new instance runs, unless it is stopped itself
/// (`supervisor` is `None`). False if the component could not be made again (it stays
/// stopped; the error is printed).
fn restart(
    ipc: &mut sel4::IpcBuffer,
    alloc: &mut crate::alloc::Alloc,
    plan: &'static Plan,
    shared: &crate::caps::Shared,
    processes: &mut [Process],
    (c, n, allowed): (u16, u16, u16),
    supervisor: Option<Cap<cap_type::Endpoint>>,
) -> bool {
    let i = usize::from(c);
    let (Some(p), Some(comp)) = (processes.get_mut(i), plan.components.get(i)) else {
        return false;
    };
    let Some(old) = p.instance.take() else {
        debug_println!("root-task: {} has no memory instance to restart", comp.name);
        return false;
    };
    let made = alloc
        .revoke_instance(ipc, old)
        .and_then(|empty| crate::create(ipc, alloc, plan, i, shared, Some(empty)));
    let fresh = match made {
        Ok(fresh) => fresh,
        Err(e) => {
            debug_println!("root-task: could not restart component {}: {e}", comp.name);
            return false;
        }
    };
    *p = fresh;
    if let Some(s) = supervisor {
        notify_server(ipc, plan, s, c, LABEL_CLIENT_RESTARTED);
    }
    let (used, bytes) = p
        .instance
        .as_ref()
        .map_or((0, 0), |m| (m.used(), m.bytes()));
    debug_println!(
        "root-task: restarted component {} ({n} of {allowed} restarts): {} KiB of its {} KiB \
         instance used, {} empty root slots",
        comp.name,
        used / 1024,
        bytes / 1024,
        alloc.slots.count()
    );
    if let Err(e) = crate::caps::start(ipc, p) {
        debug_println!("root-task: could not start component {}: {e}", comp.name);
        return false;
    }
    true
}

/// Tells the VCPU server that client component `c` was stopped (`label`
/// `LABEL_CLIENT_STOPPED`: it releases everything the client held) or is about to run again
/// (`LABEL_CLIENT_RESTARTED`): a `Send` under the supervisor's badge, which only the root task
/// holds. Nothing for other roles; never called once the server itself was stopped (the send
/// would block).
fn notify_server(
    ipc: &mut sel4::IpcBuffer,
    plan: &Plan,
    supervisor: Cap<cap_type::Endpoint>,
    c: u16,
    label: u64,
) {
    let Some(comp) = plan.components.get(usize::from(c)) else {
        return;
    };
    if comp.role != plan::Role::Client {
        return;
    }
    ipc.msg_mut()[0] = u64::from(comp.client_id);
    supervisor.send(ipc, MessageInfo::new(label, 0, 0, 1));
    let what = if label == LABEL_CLIENT_STOPPED {
        "was stopped"
    } else {
        "restarts"
    };
    debug_println!(
        "root-task: told the server that client {} ({}) {what}",
        comp.client_id,
        comp.name
    );
}

/// Test systems: a status message or a fault for the judge.
#[allow(clippy::too_many_arguments, reason = "one call site; the loop's state")]
fn judge_message(
    ipc: &mut sel4::IpcBuffer,
    judge: &mut Judge,
    out: &mut DebugWriter,
    names: &PlanNames,
    (c, t): (u16, u16),
    tcb: Cap<cap_type::Tcb>,
    info: MessageInfo,
    words: &[u64],
) -> Result<Option<crate::judge::Verdict>, core::fmt::Error> {
    {
        if Status::is_status_label(info.label()) {
            match Status::decode(info, words) {
                Some(status) => {
                    let r = judge.status(out, names, (c, t), status);
                    ipc.reply(MessageInfo::new(0, 0, 0, 0));
                    r
                }
                None => {
                    debug_println!("root-task: malformed status message from {c}.{t}: {info:?}");
                    // A non-zero label tells the sender it was not understood.
                    ipc.reply(MessageInfo::new(1, 0, 0, 0));
                    Ok(None)
                }
            }
        } else {
            // Not replying leaves the thread blocked; suspending makes that explicit and keeps
            // it stopped even if something else ever replies.
            if let Err(e) = tcb.tcb_suspend(ipc) {
                debug_println!("root-task: could not suspend faulted thread {c}.{t}: {e}");
            }
            let fault = Fault::decode(info, words);
            judge.fault(out, names, (c, t), info.label(), &fault)
        }
    }
}

/// Powers the machine off (PSCI SYSTEM_OFF); returns only if that failed.
pub fn power_off(ipc: &mut sel4::IpcBuffer) {
    let mut args = [0u64; 8];
    args[0] = sel4::PSCI_SYSTEM_OFF;
    match init::SMC.smc_call(ipc, &args) {
        Ok(r) => debug_println!("root-task: PSCI SYSTEM_OFF returned {:#x}", r[0]),
        Err(e) => debug_println!("root-task: PSCI SYSTEM_OFF failed: {e}"),
    }
}
