//! The run loop and the standard devices against the real server core (see `crate::sim`).

use std::string::{String, ToString};
use std::vec::Vec;

use guests::layout::{TESTDEV_BASE, UART_DR};
use guests::psci::SYSTEM_OFF;
use guests::testdev::{IN_IRQ_COUNT, PATTERN_NEG, RESULT, STATUS};
use vcpu_client::{Status, vcpu_read_state, zx_guest_set_trap, zx_vcpu_create};

use super::{Devices, RunEnd, Step, Vm, complete_read, load_value, run};
use crate::sim::{Act, Sim, mem, psci, store_byte};

fn setup(sim: &mut Sim) -> (Vm, u32) {
    let mut t = sim.transport();
    let vm = Vm::create(&mut t, 0x7).unwrap();
    vm.map(&mut t, 0x4000_0000, 0x20_0000, [0x20_0000]).unwrap();
    vm.trap_devices(&mut t).unwrap();
    let vcpu = zx_vcpu_create(&mut t, vm.guest, 0, 0x4000_0000).unwrap();
    (vm, vcpu)
}

#[test]
fn uart_lines_and_device_registers_then_system_off() {
    let mut script: Vec<Act> = Vec::new();
    for b in b"Hi there\nok\n" {
        script.extend(store_byte(UART_DR, *b));
    }
    script.push(mem(TESTDEV_BASE + IN_IRQ_COUNT, 8, 9, false, false));
    script.extend([
        Act::Set(9, 41),
        mem(TESTDEV_BASE + RESULT, 8, 9, true, false),
    ]);
    script.extend([
        Act::Set(9, 1),
        mem(TESTDEV_BASE + STATUS, 8, 9, true, false),
    ]);
    script.extend(psci(SYSTEM_OFF));
    let mut sim = Sim::new(script);
    let (vm, vcpu) = setup(&mut sim);
    assert_eq!(sim.server.backend().mapped, [0x4000_0000]);
    let mut devs = Devices::new(3);
    let mut lines: Vec<String> = Vec::new();
    let mut t = sim.transport();
    let end = run(&mut t, vcpu, 100, |_, p| {
        devs.handle(p, &mut |l| lines.push(l.to_string()))
    });
    assert_eq!(end, RunEnd::Status(Status::ERR_UNAVAILABLE));
    assert_eq!(lines, ["Hi there", "ok"]);
    assert_eq!(devs.testdev.results.as_slice(), [41]);
    assert_eq!(devs.testdev.status, Some(1));
    // The IN_IRQ_COUNT read put 3 into x9 before the guest continued (then it set x9 itself).
    let state = vcpu_read_state(&mut t, vcpu).unwrap();
    assert_eq!(state.x[0], u64::from(SYSTEM_OFF));
    let _ = vm;
}

#[test]
fn reads_complete_into_the_named_register_and_never_into_xzr() {
    let script = [
        mem(TESTDEV_BASE + PATTERN_NEG, 2, 5, false, true),
        mem(TESTDEV_BASE + PATTERN_NEG, 8, 31, false, false),
    ];
    let mut sim = Sim::new(script);
    let (_, vcpu) = setup(&mut sim);
    sim.exhausted = Status::ERR_STOP;
    let mut t = sim.transport();
    let mut devs = Devices::new(0);
    let mut seen = 0;
    let end = run(&mut t, vcpu, 10, |_, p| {
        seen += 1;
        let step = devs.handle(p, &mut |_| {});
        if seen == 1 {
            assert_eq!(step, Step::Load(0xFFFF_FFFF_FFFF_F2F1));
        }
        step
    });
    assert_eq!(end, RunEnd::Status(Status::ERR_STOP));
    let state = vcpu_read_state(&mut t, vcpu).unwrap();
    assert_eq!(state.x[5], 0xFFFF_FFFF_FFFF_F2F1);
    assert!(state.x.iter().enumerate().all(|(i, &x)| i == 5 || x == 0));
    assert_eq!(complete_read(&mut t, vcpu, 31, 7), Status::OK);
}

#[test]
fn unknown_addresses_stop_the_run_and_exits_are_bounded() {
    let mut sim = Sim::new([mem(0x0b00_0000, 4, 1, true, false)]);
    let (vm, vcpu) = setup(&mut sim);
    let mut t = sim.transport();
    let mem_trap = vcpu_protocol::layout::GUEST_TRAP_MEM;
    let set = zx_guest_set_trap(&mut t, vm.guest, mem_trap, 0x0b00_0000, 0x1000, 0, 99);
    assert_eq!(set, Status::OK);
    let mut devs = Devices::new(0);
    let end = run(&mut t, vcpu, 10, |_, p| devs.handle(p, &mut |_| {}));
    assert!(matches!(end, RunEnd::Packet(_)));
    assert_eq!(devs.unknown, 1);

    let mut many: Vec<Act> = Vec::new();
    for _ in 0..5 {
        many.extend(store_byte(UART_DR, b'x'));
    }
    let mut sim = Sim::new(many);
    let (_, vcpu) = setup(&mut sim);
    let mut t = sim.transport();
    let end = run(&mut t, vcpu, 3, |_, p| devs.handle(p, &mut |_| {}));
    assert_eq!(end, RunEnd::TooManyExits);
}

#[test]
fn load_values_are_extended_to_64_bits() {
    assert_eq!(load_value(0xF1, 1, false), 0xF1);
    assert_eq!(load_value(0xF1, 1, true), 0xFFFF_FFFF_FFFF_FFF1);
    assert_eq!(load_value(0x1234_5678_9ABC_DEF0, 4, false), 0x9ABC_DEF0);
}
