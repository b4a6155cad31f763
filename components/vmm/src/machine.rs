//! Running a guest through the VCPU server with the `zx_*` calls, over any [`Transport`].
//!
//! This is the VMM's logic without anything seL4-specific, so host tests can drive it with a
//! fake transport:
//! - [`Vm::create`], [`Vm::map`], [`Vm::trap_devices`]: a guest with RAM and the two MEM traps
//!   of the guest contract (UART and test device, `guests::layout`);
//! - [`run`]: `zx_vcpu_enter` in a loop, handing each packet to a handler until the handler or
//!   the server ends the run;
//! - [`Devices`]: the standard handler (UART lines, test device registers);
//! - [`complete_read`]: what a VMM must do after a MEM read exit (write `x[xt]`, unless XZR).
//!
//! Register extension of MEM reads: the packet says `access_size` and `sign_extend` but not
//! whether the destination is a W or an X register (ISS.SF is not in `zx_packet_guest_mem_t`),
//! so [`load_value`] extends to 64 bits. That is exact for every load the guests make except a
//! sign-extending load into a W register, which none of the standard devices answer.

use vcpu_client::{
    GuestPacket, HandleValue, PortPacket, Status, Transport, guest_packet, vcpu_read_state,
    vcpu_write_state, zx_guest_create, zx_guest_set_trap, zx_vcpu_enter, zx_vmar_map,
};
use vcpu_protocol::layout::{
    GUEST_TRAP_MEM, PacketGuestMem, VM_PERM_EXECUTE, VM_PERM_READ, VM_PERM_WRITE, VM_SPECIFIC,
};
use zerocopy::FromZeros;

use guests::layout::{TESTDEV_BASE, TESTDEV_SIZE, UART_BASE, UART_DR, UART_SIZE};

use crate::device::TestDevice;
use crate::uart::LineUart;

/// Trap key of the UART page.
pub const KEY_UART: u64 = 0x7561_7274; // "uart"
/// Trap key of the test-device page.
pub const KEY_TESTDEV: u64 = 0x7465_7374; // "test"
/// `vmar_map` options for guest RAM: read, write, execute, at exactly the given address.
pub const RAM_OPTIONS: u32 = VM_PERM_READ | VM_PERM_WRITE | VM_PERM_EXECUTE | VM_SPECIFIC;

/// A guest: its handle and its guest-physical VMAR handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vm {
    /// Guest handle.
    pub guest: HandleValue,
    /// VMAR handle.
    pub vmar: HandleValue,
}

impl Vm {
    /// `zx_guest_create(resource, ZX_GUEST_OPT_NORMAL)`.
    pub fn create<T: Transport + ?Sized>(t: &mut T, resource: HandleValue) -> Result<Vm, Status> {
        let (guest, vmar) = zx_guest_create(t, resource, 0)?;
        Ok(Vm { guest, vmar })
    }

    /// Maps `frames` (each `frame_size` bytes) one after the other from guest-physical `gpa`,
    /// one `zx_vmar_map` per frame. Stops at the first error.
    pub fn map<T: Transport + ?Sized>(
        &self,
        t: &mut T,
        gpa: u64,
        frame_size: u64,
        frames: impl IntoIterator<Item = T::Cap>,
    ) -> Result<(), Status> {
        let mut addr = gpa;
        for frame in frames {
            let mapped = zx_vmar_map(t, self.vmar, RAM_OPTIONS, addr, frame, frame_size)?;
            if mapped != addr {
                return Err(Status::ERR_INTERNAL);
            }
            addr += frame_size;
        }
        Ok(())
    }

    /// MEM traps on the UART page ([`KEY_UART`]) and the test-device page ([`KEY_TESTDEV`]).
    pub fn trap_devices<T: Transport + ?Sized>(&self, t: &mut T) -> Result<(), Status> {
        let traps = [
            (UART_BASE, UART_SIZE, KEY_UART),
            (TESTDEV_BASE, TESTDEV_SIZE, KEY_TESTDEV),
        ];
        for (addr, size, key) in traps {
            zx_guest_set_trap(t, self.guest, GUEST_TRAP_MEM, addr, size, 0, key).ok()?;
        }
        Ok(())
    }
}

/// What a packet handler wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Enter again.
    Resume,
    /// The exit was a MEM read: put this value into `x[xt]` (unless xt is XZR), then enter.
    Load(u64),
    /// End the run with this packet.
    Stop,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// `zx_vcpu_enter` returned this error (e.g. `ZX_ERR_UNAVAILABLE` after PSCI SYSTEM_OFF).
    Status(Status),
    /// The handler stopped at this packet.
    Packet(PortPacket),
    /// Completing a MEM read failed with this status.
    LoadFailed(Status),
    /// More than the allowed number of exits.
    TooManyExits,
}

/// Enters `vcpu` until `zx_vcpu_enter` fails, the handler returns [`Step::Stop`], or
/// `max_exits` packets were handled. The handler gets the transport too, e.g. to raise an
/// interrupt in reaction to an exit.
pub fn run<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    max_exits: u32,
    mut handler: impl FnMut(&mut T, &PortPacket) -> Step,
) -> RunEnd {
    let mut packet = PortPacket::new_zeroed();
    for _ in 0..max_exits {
        let status = zx_vcpu_enter(t, vcpu, &mut packet);
        if !status.is_ok() {
            return RunEnd::Status(status);
        }
        match handler(t, &packet) {
            Step::Resume => {}
            Step::Stop => return RunEnd::Packet(packet),
            Step::Load(value) => {
                let Some(mem) = mem_access(&packet) else {
                    return RunEnd::LoadFailed(Status::ERR_INVALID_ARGS);
                };
                let status = complete_read(t, vcpu, mem.xt, value);
                if !status.is_ok() {
                    return RunEnd::LoadFailed(status);
                }
            }
        }
    }
    RunEnd::TooManyExits
}

/// The GUEST_MEM payload of a packet, if it is one.
pub fn mem_access(packet: &PortPacket) -> Option<PacketGuestMem> {
    match guest_packet(packet) {
        GuestPacket::Mem(m) => Some(m),
        _ => None,
    }
}

/// After a MEM read exit: `x[xt] = value` through read_state / write_state (XZR, `xt == 31`,
/// takes no value: nothing is written).
pub fn complete_read<T: Transport + ?Sized>(
    t: &mut T,
    vcpu: HandleValue,
    xt: u8,
    value: u64,
) -> Status {
    let index = usize::from(xt);
    if index >= 31 {
        return Status::OK;
    }
    let mut state = match vcpu_read_state(t, vcpu) {
        Ok(s) => s,
        Err(s) => return s,
    };
    state.x[index] = value;
    vcpu_write_state(t, vcpu, &state)
}

/// The 64-bit register value of a `size`-byte load of `raw`: sign- or zero-extended.
pub fn load_value(raw: u64, size: u8, sign_extend: bool) -> u64 {
    guests::mmio::extend(raw, size, sign_extend, true)
}

/// The standard devices of the guest contract: a line UART and the test device.
#[derive(Debug, Default)]
pub struct Devices {
    /// The UART.
    pub uart: LineUart,
    /// The test device.
    pub testdev: TestDevice,
    /// MEM exits outside both devices.
    pub unknown: u32,
}

impl Devices {
    /// Devices whose test device answers `irq_count` for `IN_IRQ_COUNT`.
    pub fn new(irq_count: u64) -> Self {
        Devices {
            testdev: TestDevice::new(irq_count),
            ..Devices::default()
        }
    }

    /// Handles one packet: UART writes go to `line` when a line completes, test-device
    /// accesses to the device; anything else (another packet type, another address) stops.
    pub fn handle(&mut self, packet: &PortPacket, line: &mut dyn FnMut(&str)) -> Step {
        let Some(m) = mem_access(packet) else {
            return Step::Stop;
        };
        let read = m.read != 0;
        if packet.key == KEY_UART && m.addr == UART_DR {
            if read {
                return Step::Load(0);
            }
            if let Some(l) = self.uart.write(m.data as u8) {
                line(l);
            }
            return Step::Resume;
        }
        if packet.key == KEY_TESTDEV
            && (TESTDEV_BASE..TESTDEV_BASE + TESTDEV_SIZE).contains(&m.addr)
        {
            let offset = m.addr - TESTDEV_BASE;
            if read {
                let raw = self.testdev.read(offset, m.access_size);
                return Step::Load(load_value(raw, m.access_size, m.sign_extend != 0));
            }
            self.testdev.write(offset, m.data);
            return Step::Resume;
        }
        self.unknown += 1;
        Step::Stop
    }
}

#[cfg(test)]
mod tests;
