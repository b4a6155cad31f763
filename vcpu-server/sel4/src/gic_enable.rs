//! Enabling a new VCPU's GIC virtual CPU interface as Zircon does.
//!
//! Zircon creates each VCPU with the virtual CPU interface on: its default VMCR has group 0
//! enabled (VENG0) and the priority mask fully open (VPMR = 0x1F, GICV_PMR reads 0xF8), so a
//! guest that never programs its GIC still takes injected interrupts, and WFI returns while one
//! is pending. seL4 keeps a VMCR per VCPU (saved and restored with the VCPU) but gives no
//! invocation to set it, and a fresh VCPU's VMCR is 0 (interface off). The only way to set it is
//! for the VCPU itself to write GICV_CTLR and GICV_PMR through its GICV mapping.
//!
//! So, once per VCPU, before its first entry, the server runs a fixed 9-instruction stub in the
//! new VCPU ([`STUB`]): it writes GICV_PMR = 0xF8 and GICV_CTLR = 1 (group 0 on) at Zircon's
//! GICV address and traps with `smc #0`. The stub's page is the server's own frame, mapped
//! read-only and executable at [`STUB_GPA`] (the first page past the guest's 2^36-byte physical
//! space, which no guest mapping can reach) only for this step; the VCPU's fault endpoint is
//! meanwhile a private endpoint the server receives on, and the VCPU runs at the server's own
//! priority, so the step finishes at once and no client can delay it. Afterwards the server
//! suspends the VCPU, unmaps the page and sets the fault endpoint, priority, registers (pc =
//! entry, PSTATE, x0..x30, and every EL1 register to Zircon's initial value) exactly as if the
//! step had not happened. The step's own receive replaces the server's pending reply
//! capability (that of the client calling `vcpu_create`), so the server saves it first
//! (`CNode_SaveCaller`) and the transport answers that call with `Send` on the saved capability
//! ([`crate::backend::Sel4Backend::take_saved_caller`]). Only x0, x1, pc and the GIC interface change during the step; the
//! EL1 registers and the guest's memory are untouched.
//!
//! Invariants: the stub frame is written once at start-up (cleaned to the point of coherency,
//! since the stub runs with caches off) and never mapped into a guest outside the step.

use sel4::{Cap, CapRights, ObjectType, VmAttributes, WORD_DEPTH, cap_type};
use vcpu_protocol::Status;

use crate::alloc::{Obj, Objects};

/// The stub, one instruction a word (assembled from the text in the comments):
pub const STUB: [u32; 9] = [
    0xd282_0000, // mov  x0, #0x1000
    0xf2c0_0100, // movk x0, #0x8, lsl #32      x0 = 0x8_0000_1000, the GICV (GICC_*)
    0x5280_1f01, // mov  w1, #0xf8
    0xb900_0401, // str  w1, [x0, #4]           GICV_PMR = 0xF8 (VMCR.VPMR = 0x1F)
    0x5280_0021, // mov  w1, #1
    0xb900_0001, // str  w1, [x0]               GICV_CTLR = EnableGrp0 (VMCR.VENG0)
    0xd503_3f9f, // dsb  sy
    0xd400_0003, // smc  #0                     trap to the server
    0x17ff_ffff, // b    .-4
];

/// GICV base the stub writes (Zircon's `kGicvAddress`; the server maps the GICV there).
pub const STUB_GICV: u64 = 0x8_0000_1000;
const _: () = assert!(STUB_GICV == crate::guest::GICV_GPA);

/// Where the stub page is mapped in a guest during the step: the first page past the 2^36-byte
/// guest-physical space.
pub const STUB_GPA: u64 = 1 << 36;

/// Where the server maps the stub frame in its own VSpace to write it (above every region the
/// plan places, below seL4's user top).
pub const SERVER_VADDR: u64 = 0x200_0000_0000;

/// The stub frame and the private endpoint of the step.
#[derive(Debug)]
pub struct GicEnable {
    /// The frame holding [`STUB`] (mapped in the server's VSpace).
    pub frame: Obj,
    /// The endpoint the stub's fault goes to.
    pub endpoint: Obj,
    /// Where the reply capability of the client being served is kept during the step (the
    /// step's receive would replace it); the transport answers through it.
    pub caller: u64,
    /// Page tables made for the server's mapping.
    tables: [Option<Obj>; 3],
}

impl GicEnable {
    /// Makes the stub frame (writing [`STUB`] into it through `write`, which gets the server's
    /// virtual address of the mapped frame) and the private endpoint.
    pub fn create(
        k: &mut Objects,
        own_vspace: Cap<cap_type::VSpace>,
        write: impl FnOnce(u64),
    ) -> Result<GicEnable, Status> {
        let frame = k.retype(ObjectType::SmallPage, 0)?;
        let mut g = GicEnable {
            frame,
            endpoint: frame,
            caller: 0,
            tables: [None; 3],
        };
        let attrs = VmAttributes::CACHEABLE.union(VmAttributes::EXECUTE_NEVER);
        let mut mapped = false;
        for i in 0..=g.tables.len() {
            let ipc = k.ipc()?;
            match frame.cap::<cap_type::SmallPage>().frame_map(
                ipc,
                own_vspace,
                SERVER_VADDR,
                CapRights::READ_WRITE,
                attrs,
            ) {
                Ok(()) => {
                    mapped = true;
                    break;
                }
                Err(sel4::Error::FailedLookup) if i < g.tables.len() => {
                    let t = k.retype(ObjectType::PageTable, 0)?;
                    g.tables[i] = Some(t);
                    let ipc = k.ipc()?;
                    t.cap::<cap_type::PageTable>()
                        .page_table_map(ipc, own_vspace, SERVER_VADDR, VmAttributes::DEFAULT)
                        .map_err(crate::kernel_status)?;
                }
                Err(e) => return Err(crate::kernel_status(e)),
            }
        }
        if !mapped {
            return Err(Status::ERR_INTERNAL);
        }
        write(SERVER_VADDR);
        let ipc = k.ipc()?;
        let cap = frame.cap::<cap_type::SmallPage>();
        cap.frame_clean_invalidate_data(ipc, 0, 4096)
            .map_err(crate::kernel_status)?;
        cap.frame_unify_instruction(ipc, 0, 4096)
            .map_err(crate::kernel_status)?;
        g.endpoint = k.retype(ObjectType::Endpoint, 0)?;
        g.caller = k.slot()?;
        Ok(g)
    }

    /// A read-only copy of the stub frame's capability in a fresh slot (one capability maps
    /// one place).
    pub fn frame_copy(&self, k: &mut Objects) -> Result<u64, Status> {
        let slot = k.slot()?;
        let own = k.cnode();
        let ipc = k.ipc()?;
        if let Err(e) = own.cnode_copy(
            ipc,
            slot,
            WORD_DEPTH,
            own,
            self.frame.slot,
            WORD_DEPTH,
            CapRights::READ,
        ) {
            k.release_slot(slot);
            return Err(crate::kernel_status(e));
        }
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::{STUB, STUB_GICV, STUB_GPA};
    use vcpu_protocol::layout::GUEST_PHYS_SIZE;

    /// Decodes the stub's `movz x0` / `movk x0, lsl #32` pair.
    fn stub_address() -> u64 {
        let imm = |w: u32| u64::from((w >> 5) & 0xFFFF);
        let hw = |w: u32| (w >> 21) & 0b11;
        assert_eq!(STUB[0] & 0xFF80_001F, 0xD280_0000, "movz x0");
        assert_eq!(STUB[1] & 0xFF80_001F, 0xF280_0000, "movk x0");
        (imm(STUB[0]) << (16 * hw(STUB[0]))) | (imm(STUB[1]) << (16 * hw(STUB[1])))
    }

    #[test]
    fn the_stub_writes_zircons_gicv() {
        assert_eq!(stub_address(), STUB_GICV);
        assert_eq!(STUB_GICV, crate::guest::GICV_GPA);
        // mov w1, #imm16 before each store: 0xF8 to PMR (offset 4), 1 to CTLR (offset 0).
        let mov_imm = |w: u32| (w >> 5) & 0xFFFF;
        assert_eq!(mov_imm(STUB[2]), 0xF8);
        assert_eq!(
            (STUB[3] >> 10) & 0xFFF,
            1,
            "str w1, [x0, #4]: imm12 = 4 / 4"
        );
        assert_eq!(mov_imm(STUB[4]), 1);
        assert_eq!((STUB[5] >> 10) & 0xFFF, 0, "str w1, [x0]");
        assert_eq!(STUB[7], 0xD400_0003, "smc #0");
    }

    // The stub page lies outside the guest's space, page-aligned.
    const _: () = assert!(STUB_GPA >= GUEST_PHYS_SIZE && STUB_GPA % 4096 == 0);
}
