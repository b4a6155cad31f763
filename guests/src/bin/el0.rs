//! Guest `el0`: drops from EL1 to EL0 and executes WFI there; x0 (written with `write_state`)
//! picks the EL0 state: 0 = AArch64, 1 = AArch32 (A32). With Zircon's SCTLR_EL1 (nTWI = 0) the
//! WFI traps to the guest's own EL1, whose runtime reports it like any unexpected exception:
//! FAULT_ESR = ESR_EL1 (EC 0x01, TI = 0), FAULT_ELR = the WFI's address, FAULT_FAR, then STATUS
//! = 0xE00 | vector slot (8: lower EL in AArch64, 12: lower EL in AArch32), then SYSTEM_OFF.
//! The program is `src/rt/el0.rs`.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../rt/mod.rs"]
mod rt;

#[cfg(target_os = "none")]
#[path = "../rt/el0.rs"]
mod program;

#[cfg(target_os = "none")]
rt::guest!(asm);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("`el0` is a guest image: build it with --target aarch64-unknown-none");
}
