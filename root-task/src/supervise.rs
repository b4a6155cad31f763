//! After boot: the root task waits on its fault endpoint for the rest of the run.
//!
//! Each message carries the badge `plan::fault_badge(component, thread)` of the sender's fault
//! endpoint capability. Status messages (`root_task`) are acknowledged with an empty
//! reply. Anything else is a fault: the root task reports it as
//! `root-task: component <name> thread <t> faulted: <decoded fault>` (t: thread index), never
//! replies, and suspends the thread, which stays suspended while the others keep running. The
//! [`Judge`] turns these events into PASS/FAIL lines and a verdict; once it has one, the root
//! task powers the machine off (PSCI SYSTEM_OFF through the SMC capability) so QEMU exits.

use plan::Plan;
use root_task::Status;
use sel4::{Cap, Fault, MessageInfo, cap_type, init};
use sel4_runtime::{DebugWriter, debug_println};

use crate::judge::{Judge, Names};
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
pub fn run(
    ipc: &mut sel4::IpcBuffer,
    plan: &'static Plan,
    processes: &[Process],
    fault_ep: Cap<cap_type::Endpoint>,
    mut judge: Judge,
) -> ! {
    let names = PlanNames(plan);
    let mut out = DebugWriter;
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
        let decided = if Status::is_status_label(info.label()) {
            match Status::decode(info, words) {
                Some(status) => {
                    let r = judge.status(&mut out, &names, (c, t), status);
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
            judge.fault(&mut out, &names, (c, t), info.label(), &fault)
        };
        if let Ok(Some(_)) = decided {
            power_off(ipc);
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
