//! `qemu-harness`: a test tool, not a guest. A bare-metal EL2 mini-VMM for QEMU that runs one
//! guest image at EL1 behind stage-2 traps — playing both the VCPU server (its exit rules:
//! PSCI, SMC immediates, WFx, HVC, MEM traps, unmapped IPAs) and the VMM — and checks every
//! exit against the `guests` contract. It prints `PASS ...`, `STUCK <step>` (hostile: the
//! step left the VCPU stuck, as documented; the runner restarts at the next step) or
//! `FAIL ...`, then powers QEMU off. `qemu-check.sh` runs it for each guest.
//!
//! Differences from the real server: no seL4 underneath, so every HVC is an "unknown syscall"
//! exit, and WFI with nothing pending is a failure instead of a wait.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
#[path = "../harness/mod.rs"]
mod harness;

#[cfg(target_os = "none")]
use check::harness_main;

#[cfg(target_os = "none")]
mod check {
    use core::fmt::Write as _;

    use guests::hostile::{Action, Expect, STEPS};
    use guests::layout::{RAM_BASE, STACKS_BASE, TESTDEV_BASE, TESTDEV_SIZE};
    use guests::layout::{UART_BASE, UART_DR, UART_SIZE};
    use guests::mmio::SEQUENCE;
    use guests::testdev::{self, DETAIL, IN_IRQ_COUNT, MARKER, RESULT, STATUS, size_mask};
    use guests::{compute, psci, zx};

    use crate::harness::{self, CONFIG_MAGIC, Frame, Uart};

    macro_rules! say {
        ($($arg:tt)*) => {{
            let _ = write!(Uart, $($arg)*);
        }};
    }

    /// A check failed (already reported on the UART).
    struct Failed;

    type Check<T> = Result<T, Failed>;

    fn fail<T>(what: core::fmt::Arguments<'_>) -> Check<T> {
        say!("FAIL {what}\n");
        Err(Failed)
    }

    /// A GUEST_MEM packet, plus the width of the register (ISS.SF) for checking.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Mem {
        addr: u64,
        size: u8,
        sign_extend: bool,
        xt: u8,
        read: bool,
        data: u64,
        wide: bool,
    }

    /// What `zx_vcpu_enter` would report (the server's exit rules, spec §3.5).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Event {
        Mem(Mem),
        Stop,
        Unavailable,
        Canceled,
        Startup {
            id: u64,
            entry: u64,
        },
        /// HVC (`Some(x7)`, pc advanced) or a trapped system register (pc unchanged).
        NotSupported {
            hvc: Option<i64>,
        },
        NotFound {
            ipa: u64,
            fetch: bool,
        },
        IoDataIntegrity {
            ipa: u64,
        },
        /// WFI with nothing pending: the server would block; here nothing can wake it.
        Wfi,
        Other {
            kind: u64,
            esr: u64,
        },
    }

    struct Vm {
        frame: Frame,
    }

    fn in_trap(ipa: u64) -> bool {
        (UART_BASE..UART_BASE + UART_SIZE).contains(&ipa)
            || (TESTDEV_BASE..TESTDEV_BASE + TESTDEV_SIZE).contains(&ipa)
    }

    impl Vm {
        /// A fresh VCPU at the image entry with x0..x3 = `x`.
        fn new(x: [u64; 4]) -> Self {
            let mut frame = Frame {
                elr: RAM_BASE,
                spsr: 0x3C5,
                ..Frame::default()
            };
            frame.x[..4].copy_from_slice(&x);
            Vm { frame }
        }

        fn set_x(&mut self, reg: u8, value: u64) {
            if let Some(r) = self.frame.x.get_mut(usize::from(reg)) {
                *r = value;
            }
        }

        fn x(&self, reg: u8) -> u64 {
            self.frame.x.get(usize::from(reg)).copied().unwrap_or(0)
        }

        /// Runs the guest until something `enter` would report.
        fn next(&mut self) -> Event {
            loop {
                let t = harness::run(&mut self.frame);
                if t.kind != 8 {
                    return Event::Other {
                        kind: t.kind,
                        esr: t.esr,
                    };
                }
                let iss = t.esr & 0x1FF_FFFF;
                match t.esr >> 26 {
                    0x01 => {
                        self.frame.elr += 4;
                        if iss & 1 == 0 {
                            return Event::Wfi;
                        }
                    }
                    0x17 => {
                        self.frame.elr += 4;
                        if let Some(event) = self.smc(iss & 0xFFFF) {
                            return event;
                        }
                    }
                    // ELR_EL2 of an HVC is already the next instruction.
                    0x16 => {
                        return Event::NotSupported {
                            hvc: Some(self.frame.x[7] as i64),
                        };
                    }
                    0x18 => return Event::NotSupported { hvc: None },
                    0x24 if in_trap(t.ipa) => {
                        self.frame.elr += 4;
                        if iss & 1 << 24 == 0 {
                            return Event::IoDataIntegrity { ipa: t.ipa };
                        }
                        let size = 1u8 << ((iss >> 22) & 3);
                        let xt = ((iss >> 16) & 31) as u8;
                        let read = iss & 1 << 6 == 0;
                        let data = match (read, xt) {
                            (true, _) | (false, 31) => 0,
                            (false, r) => self.x(r) & size_mask(u64::from(size)),
                        };
                        return Event::Mem(Mem {
                            addr: t.ipa,
                            size,
                            sign_extend: iss & 1 << 21 != 0,
                            xt,
                            read,
                            data,
                            wide: iss & 1 << 15 != 0,
                        });
                    }
                    0x24 | 0x20 => {
                        return Event::NotFound {
                            ipa: t.ipa,
                            fetch: t.esr >> 26 == 0x20,
                        };
                    }
                    _ => {
                        return Event::Other {
                            kind: t.kind,
                            esr: t.esr,
                        };
                    }
                }
            }
        }

        /// The server's SMC rules (pc already advanced); `Some` if `enter` would return.
        fn smc(&mut self, imm: u64) -> Option<Event> {
            if imm != 0 {
                self.frame.x[0] = psci::NOT_SUPPORTED;
                return None;
            }
            match self.frame.x[0] as u32 {
                psci::VERSION => self.frame.x[0] = psci::VERSION_0_2,
                psci::CPU_OFF => return Some(Event::Stop),
                psci::SYSTEM_OFF => return Some(Event::Unavailable),
                psci::SYSTEM_RESET => return Some(Event::Canceled),
                psci::CPU_ON => {
                    self.frame.x[0] = psci::SUCCESS;
                    return Some(Event::Startup {
                        id: self.frame.x[1],
                        entry: self.frame.x[2],
                    });
                }
                _ => self.frame.x[0] = psci::NOT_SUPPORTED,
            }
            None
        }

        /// The next event must be a 64-bit write of `value` from x9 to test-device `reg`.
        fn expect_write(&mut self, reg: u64, value: Option<u64>) -> Check<u64> {
            match self.next() {
                Event::Mem(m)
                    if m.addr == TESTDEV_BASE + reg
                        && !m.read
                        && m.size == 8
                        && m.xt == 9
                        && value.is_none_or(|v| v == m.data) =>
                {
                    Ok(m.data)
                }
                e => fail(format_args!(
                    "expected write {value:x?} to test-device {reg:#x}, got {e:x?}"
                )),
            }
        }

        fn expect(&mut self, want: Event) -> Check<()> {
            match self.next() {
                e if e == want => Ok(()),
                e => fail(format_args!("expected {want:x?}, got {e:x?}")),
            }
        }
    }

    pub fn harness_main() -> ! {
        let config = harness::config();
        if config.magic != CONFIG_MAGIC {
            say!("FAIL no configuration at {:#x}\n", harness::CONFIG_ADDR);
            harness::power_off();
        }
        if load_elf().is_err() {
            harness::power_off();
        }
        harness::setup();
        let mut vm = Vm::new(config.x);
        let result = match config.mode {
            1 => hello(&mut vm),
            2 => irq(&mut vm),
            3 => compute_check(&mut vm, config.x),
            4 => mmio(&mut vm),
            5 => hostile(&mut vm, config.x[0]),
            6 => spin(&mut vm),
            m => fail(format_args!("unknown mode {m}")),
        };
        if result.is_ok() {
            say!("PASS\n");
        }
        harness::power_off()
    }

    fn le(file: &[u8], at: usize, len: usize) -> Check<u64> {
        match file.get(at..at + len) {
            Some(bytes) => Ok(bytes.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b))),
            None => fail(format_args!("ELF: read past the file at {at:#x}")),
        }
    }

    /// Loads the guest ELF like a VMM: every PT_LOAD to its address in guest RAM. RAM is
    /// poisoned first (0xA5) and every segment must have p_filesz == p_memsz, which shows the
    /// images need no zero-fill and do not depend on zeroed RAM.
    fn load_elf() -> Check<()> {
        let file = harness::elf_file();
        let ram = harness::guest_ram();
        ram.fill(0xA5);
        if file.get(..6) != Some(&[0x7F, b'E', b'L', b'F', 2, 1][..]) || le(file, 18, 2)? != 183 {
            return fail(format_args!("ELF: not a little-endian ELF64 for AArch64"));
        }
        if le(file, 24, 8)? != RAM_BASE {
            return fail(format_args!("ELF: entry is not {RAM_BASE:#x}"));
        }
        let (phoff, phentsize, phnum) = (le(file, 32, 8)?, le(file, 54, 2)?, le(file, 56, 2)?);
        for i in 0..phnum {
            let ph = (phoff + i * phentsize) as usize;
            if le(file, ph, 4)? != 1 {
                continue;
            }
            let (offset, vaddr) = (le(file, ph + 8, 8)? as usize, le(file, ph + 16, 8)?);
            let (filesz, memsz) = (
                le(file, ph + 32, 8)? as usize,
                le(file, ph + 40, 8)? as usize,
            );
            let start = vaddr.wrapping_sub(RAM_BASE) as usize;
            let (Some(src), Some(dst)) = (
                file.get(offset..offset + filesz),
                ram.get_mut(start..start + filesz),
            ) else {
                return fail(format_args!(
                    "ELF: segment {i} outside the file or guest RAM"
                ));
            };
            if filesz != memsz || vaddr + memsz as u64 > STACKS_BASE {
                return fail(format_args!(
                    "ELF: segment {i}: filesz {filesz:#x} memsz {memsz:#x}"
                ));
            }
            dst.copy_from_slice(src);
        }
        Ok(())
    }

    fn hello(vm: &mut Vm) -> Check<()> {
        const WANT: &[u8] = b"Hello from guest 0!\n";
        for (i, &byte) in WANT.iter().enumerate() {
            let want = Mem {
                addr: UART_DR,
                size: 1,
                sign_extend: false,
                xt: 9,
                read: false,
                data: u64::from(byte),
                wide: false,
            };
            match vm.next() {
                Event::Mem(m) if m == want => {}
                e => {
                    return fail(format_args!(
                        "hello byte {i}: expected {want:x?}, got {e:x?}"
                    ));
                }
            }
        }
        vm.expect(Event::Unavailable)?;
        vm.expect(Event::Unavailable)?;
        say!(
            "hello: {} UART bytes, then SYSTEM_OFF (twice)\n",
            WANT.len()
        );
        Ok(())
    }

    fn compute_check(vm: &mut Vm, x: [u64; 4]) -> Check<()> {
        let mut input = [0u64; 31];
        input[..4].copy_from_slice(&x);
        for round in 0..2 {
            vm.expect(Event::Stop)?;
            let want = compute::expected_x(input);
            for (i, w) in want.iter().enumerate() {
                match *w {
                    Some(w) if vm.frame.x[i] != w => {
                        let got = vm.frame.x[i];
                        return fail(format_args!(
                            "compute round {round}: x{i} = {got:#x}, want {w:#x}"
                        ));
                    }
                    _ => {}
                }
            }
            let nzcv = (vm.frame.spsr & 0xF000_0000) as u32;
            if nzcv != compute::CPSR || vm.frame.sp_el1 != compute::expected_sp(0) {
                return fail(format_args!(
                    "compute: cpsr {nzcv:#x}, sp {:#x}",
                    vm.frame.sp_el1
                ));
            }
        }
        say!("compute: registers as documented after CPU_OFF (twice)\n");
        Ok(())
    }

    fn mmio(vm: &mut Vm) -> Check<()> {
        for (i, a) in SEQUENCE.iter().enumerate() {
            let want = Mem {
                addr: a.addr,
                size: a.size,
                sign_extend: a.sign_extend,
                xt: a.xt,
                read: a.read,
                data: if a.read { 0 } else { a.data },
                // ISS.SF is reported for loads only.
                wide: a.read && a.wide,
            };
            match vm.next() {
                Event::Mem(m) if m.read && m == want => vm.set_x(m.xt, a.reg),
                Event::Mem(m) if !m.read && Mem { wide: false, ..m } == want => {}
                e => {
                    return fail(format_args!(
                        "mmio #{}: {}: expected {want:x?}, got {e:x?}",
                        i + 1,
                        a.insn
                    ));
                }
            }
        }
        vm.expect(Event::Unavailable)?;
        say!(
            "mmio: {} accesses as documented (ISS.SF matched every load)\n",
            SEQUENCE.len()
        );
        Ok(())
    }

    fn irq(vm: &mut Vm) -> Check<()> {
        // (INTID, group, priority field): both groups; priorities fix the order.
        const IRQS: [(u32, u32, u32); 3] = [(40, 0, 0), (41, 1, 1), (42, 0, 2)];
        let want = Mem {
            addr: TESTDEV_BASE + IN_IRQ_COUNT,
            size: 8,
            sign_extend: false,
            xt: 9,
            read: true,
            data: 0,
            wide: true,
        };
        vm.expect(Event::Mem(want))?;
        vm.set_x(9, testdev::device_read(IN_IRQ_COUNT, 8, IRQS.len() as u64));
        vm.expect_write(STATUS, Some(testdev::STATUS_READY))?;
        for (lr, &(intid, group, priority)) in IRQS.iter().enumerate() {
            harness::inject(lr as u64, intid, group, priority);
        }
        for &(intid, _, _) in &IRQS {
            vm.expect_write(RESULT, Some(u64::from(intid)))?;
        }
        vm.expect(Event::Unavailable)?;
        say!("irq: READY, then INTIDs 40 (group 0), 41 (group 1), 42 (group 0), SYSTEM_OFF\n");
        Ok(())
    }

    /// `spin`: x19 = 1000 before the first enter; three times, let the host timer stop the
    /// guest (a stand-in for a kick) and check that x19 grew and nothing else exited.
    fn spin(vm: &mut Vm) -> Check<()> {
        let mut last = 1000;
        vm.frame.x[19] = last;
        for round in 0..3 {
            harness::arm_hyp_timer(625_000); // 10 ms at QEMU's 62.5 MHz
            match vm.next() {
                Event::Other { kind: 9, .. } => {}
                e => return fail(format_args!("spin round {round}: got {e:x?}")),
            }
            let intid = harness::ack_host_irq();
            let now = vm.frame.x[19];
            if intid != harness::HYP_TIMER_INTID || now <= last {
                return fail(format_args!(
                    "spin round {round}: irq {intid}, x19 {last} -> {now}"
                ));
            }
            last = now;
        }
        say!("spin: only the timer stopped it; x19 grew from 1000 each time\n");
        Ok(())
    }

    fn hostile(vm: &mut Vm, first: u64) -> Check<()> {
        let mut index = first;
        loop {
            match vm.next() {
                Event::Mem(m) if m.addr == TESTDEV_BASE + MARKER && !m.read && m.data == index => {
                    let Some(step) = STEPS.get(index as usize) else {
                        return fail(format_args!("hostile: marker {index} past the end"));
                    };
                    if !hostile_step(vm, index, step.action, step.expect)? {
                        say!("STUCK {index}\n");
                        return Err(Failed);
                    }
                    index += 1;
                }
                Event::Mem(m)
                    if m.addr == TESTDEV_BASE + STATUS
                        && m.data == testdev::STATUS_DONE
                        && index as usize == STEPS.len() =>
                {
                    vm.expect(Event::Unavailable)?;
                    say!("hostile: steps {first}..{} as documented\n", STEPS.len());
                    return Ok(());
                }
                e => return fail(format_args!("hostile: expected marker {index}, got {e:x?}")),
            }
        }
    }

    /// Checks one step; `Ok(false)` if it left the VCPU stuck as documented.
    fn hostile_step(vm: &mut Vm, i: u64, action: Action, expect: Expect) -> Check<bool> {
        let hvc_number = match action {
            Action::Hvc { number, .. } | Action::HvcImmMax { number } => Some(number),
            _ => None,
        };
        let result = match expect {
            Expect::GuestException { esr } => Some(esr),
            Expect::Continue { result } => {
                // A real seL4 syscall completes in the kernel; here it is an HVC exit.
                if hvc_number.is_some() {
                    vm.expect(Event::NotSupported { hvc: hvc_number })?;
                }
                Some(result)
            }
            Expect::Skipped { status, result } => {
                match (status, vm.next()) {
                    (zx::ERR_NOT_SUPPORTED, Event::NotSupported { hvc }) if hvc == hvc_number => {}
                    (zx::ERR_IO_DATA_INTEGRITY, Event::IoDataIntegrity { .. }) => {}
                    (_, e) => {
                        return fail(format_args!(
                            "hostile #{i}: want status {status}, got {e:x?}"
                        ));
                    }
                }
                Some(result)
            }
            Expect::Sel4Syscall => {
                vm.expect(Event::NotSupported { hvc: hvc_number })?;
                None
            }
            Expect::Stuck { status } => {
                let want = match (status, action) {
                    (zx::ERR_NOT_SUPPORTED, _) => Event::NotSupported { hvc: None },
                    (zx::ERR_NOT_FOUND, Action::Jump { addr }) => Event::NotFound {
                        ipa: addr,
                        fetch: true,
                    },
                    (
                        zx::ERR_NOT_FOUND,
                        Action::Load { addr } | Action::Store { addr } | Action::Store32 { addr },
                    ) => Event::NotFound {
                        ipa: addr,
                        fetch: false,
                    },
                    _ => return fail(format_args!("hostile #{i}: no rule for {expect:x?}")),
                };
                // Stuck: the same exit again on the next enter (pc unchanged).
                vm.expect(want)?;
                vm.expect(want)?;
                return Ok(false);
            }
        };
        vm.expect_write(RESULT, result)?;
        vm.expect_write(DETAIL, None)?;
        Ok(true)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "`qemu-harness` is a bare-metal test tool: build it with --target aarch64-unknown-none"
    );
}
