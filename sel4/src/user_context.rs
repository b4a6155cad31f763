//! Thread registers in seL4's order (`seL4_UserContext`) and VCPU register numbers.
//!
//! `TCB_ReadRegisters`/`TCB_WriteRegisters` transfer the first `count` words of this order:
//! pc, sp, spsr, x0..x8, x16, x17, x18, x29, x30, x9..x15, x19..x28, tpidr_el0, tpidrro_el0.

/// Number of words in a [`UserContext`].
pub const USER_CONTEXT_WORDS: usize = 36;

/// A thread's registers (`seL4_UserContext`, 36 words).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
pub struct UserContext {
    words: [u64; USER_CONTEXT_WORDS],
}

impl Default for UserContext {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl UserContext {
    /// Index of pc.
    pub const PC: usize = 0;
    /// Index of sp (SP_EL0).
    pub const SP: usize = 1;
    /// Index of spsr (the guest PSTATE for a VCPU thread).
    pub const SPSR: usize = 2;
    /// Index of tpidr_el0.
    pub const TPIDR_EL0: usize = 34;
    /// Index of tpidrro_el0.
    pub const TPIDRRO_EL0: usize = 35;

    /// Field names of `seL4_UserContext` in declaration order (for the ABI check).
    pub const C_FIELD_NAMES: [&'static str; USER_CONTEXT_WORDS] = [
        "pc",
        "sp",
        "spsr",
        "x0",
        "x1",
        "x2",
        "x3",
        "x4",
        "x5",
        "x6",
        "x7",
        "x8",
        "x16",
        "x17",
        "x18",
        "x29",
        "x30",
        "x9",
        "x10",
        "x11",
        "x12",
        "x13",
        "x14",
        "x15",
        "x19",
        "x20",
        "x21",
        "x22",
        "x23",
        "x24",
        "x25",
        "x26",
        "x27",
        "x28",
        "tpidr_el0",
        "tpidrro_el0",
    ];

    /// All registers zero.
    pub const fn zeroed() -> Self {
        UserContext {
            words: [0; USER_CONTEXT_WORDS],
        }
    }

    /// A context from words in seL4 order.
    pub const fn from_words(words: [u64; USER_CONTEXT_WORDS]) -> Self {
        UserContext { words }
    }

    /// The words in seL4 order.
    pub const fn words(&self) -> &[u64; USER_CONTEXT_WORDS] {
        &self.words
    }

    /// The words in seL4 order, mutable.
    pub fn words_mut(&mut self) -> &mut [u64; USER_CONTEXT_WORDS] {
        &mut self.words
    }

    /// The index of general register `xn` (0..=30) in seL4 order; `None` for n > 30
    /// (31 encodes XZR/SP in instructions and is not a stored register).
    pub const fn index_of_x(n: u8) -> Option<usize> {
        let i = match n {
            0..=8 => 3 + n as usize,
            9..=15 => 17 + (n as usize - 9),
            16..=18 => 12 + (n as usize - 16),
            19..=28 => 24 + (n as usize - 19),
            29 => 15,
            30 => 16,
            _ => return None,
        };
        Some(i)
    }

    /// Register xn, or `None` for n > 30.
    pub const fn x(&self, n: u8) -> Option<u64> {
        match Self::index_of_x(n) {
            Some(i) => Some(self.words[i]),
            None => None,
        }
    }

    /// Sets register xn; returns false (and changes nothing) for n > 30.
    pub fn set_x(&mut self, n: u8, value: u64) -> bool {
        match Self::index_of_x(n) {
            Some(i) => {
                self.words[i] = value;
                true
            }
            None => false,
        }
    }

    /// The program counter.
    pub const fn pc(&self) -> u64 {
        self.words[Self::PC]
    }
    /// Sets the program counter.
    pub fn set_pc(&mut self, value: u64) {
        self.words[Self::PC] = value;
    }
    /// The stack pointer (SP_EL0).
    pub const fn sp(&self) -> u64 {
        self.words[Self::SP]
    }
    /// Sets the stack pointer.
    pub fn set_sp(&mut self, value: u64) {
        self.words[Self::SP] = value;
    }
    /// The saved program status.
    pub const fn spsr(&self) -> u64 {
        self.words[Self::SPSR]
    }
    /// Sets the saved program status (kept only for a TCB bound to a VCPU; see the spec).
    pub fn set_spsr(&mut self, value: u64) {
        self.words[Self::SPSR] = value;
    }
    /// TPIDR_EL0.
    pub const fn tpidr_el0(&self) -> u64 {
        self.words[Self::TPIDR_EL0]
    }
    /// Sets TPIDR_EL0.
    pub fn set_tpidr_el0(&mut self, value: u64) {
        self.words[Self::TPIDR_EL0] = value;
    }
    /// TPIDRRO_EL0.
    pub const fn tpidrro_el0(&self) -> u64 {
        self.words[Self::TPIDRRO_EL0]
    }
}

macro_rules! vcpu_regs {
    ($($(#[$doc:meta])* $name:ident = $value:literal => $c:literal,)*) => {
        /// A VCPU register number for `VCPU_ReadRegs`/`VCPU_WriteRegs` (`seL4_VCPUReg`).
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u64)]
        #[allow(non_camel_case_types)]
        pub enum VcpuReg {
            $($(#[$doc])* $name = $value,)*
        }

        impl VcpuReg {
            /// Every register, in number order.
            pub const ALL: &'static [VcpuReg] = &[$(VcpuReg::$name,)*];

            /// The libsel4 name, e.g. `seL4_VCPUReg_SCTLR`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(VcpuReg::$name => $c,)*
                }
            }
        }
    };
}

vcpu_regs! {
    /// SCTLR_EL1.
    Sctlr = 0 => "seL4_VCPUReg_SCTLR",
    /// CPACR_EL1.
    Cpacr = 1 => "seL4_VCPUReg_CPACR",
    /// TTBR0_EL1.
    Ttbr0 = 2 => "seL4_VCPUReg_TTBR0",
    /// TTBR1_EL1.
    Ttbr1 = 3 => "seL4_VCPUReg_TTBR1",
    /// TCR_EL1.
    Tcr = 4 => "seL4_VCPUReg_TCR",
    /// MAIR_EL1.
    Mair = 5 => "seL4_VCPUReg_MAIR",
    /// AMAIR_EL1.
    Amair = 6 => "seL4_VCPUReg_AMAIR",
    /// CONTEXTIDR_EL1.
    Cidr = 7 => "seL4_VCPUReg_CIDR",
    /// ACTLR_EL1.
    Actlr = 8 => "seL4_VCPUReg_ACTLR",
    /// AFSR0_EL1.
    Afsr0 = 9 => "seL4_VCPUReg_AFSR0",
    /// AFSR1_EL1.
    Afsr1 = 10 => "seL4_VCPUReg_AFSR1",
    /// ESR_EL1.
    Esr = 11 => "seL4_VCPUReg_ESR",
    /// FAR_EL1.
    Far = 12 => "seL4_VCPUReg_FAR",
    /// PAR_EL1.
    Par = 13 => "seL4_VCPUReg_PAR",
    /// VBAR_EL1.
    Vbar = 14 => "seL4_VCPUReg_VBAR",
    /// TPIDR_EL1.
    TpidrEl1 = 15 => "seL4_VCPUReg_TPIDR_EL1",
    /// VMPIDR_EL2 (the MPIDR the guest reads).
    VmpidrEl2 = 16 => "seL4_VCPUReg_VMPIDR_EL2",
    /// SP_EL1.
    SpEl1 = 17 => "seL4_VCPUReg_SP_EL1",
    /// ELR_EL1.
    ElrEl1 = 18 => "seL4_VCPUReg_ELR_EL1",
    /// SPSR_EL1.
    SpsrEl1 = 19 => "seL4_VCPUReg_SPSR_EL1",
    /// CNTV_CTL_EL0.
    CntvCtl = 20 => "seL4_VCPUReg_CNTV_CTL",
    /// CNTV_CVAL_EL0.
    CntvCval = 21 => "seL4_VCPUReg_CNTV_CVAL",
    /// CNTVOFF_EL2.
    Cntvoff = 22 => "seL4_VCPUReg_CNTVOFF",
    /// CNTKCTL_EL1.
    CntkctlEl1 = 23 => "seL4_VCPUReg_CNTKCTL_EL1",
}

/// `seL4_VCPUReg_Num`: register numbers at or above this are rejected with InvalidArgument.
pub const VCPU_REG_NUM: u64 = 24;
const _: () = assert!(VcpuReg::ALL.len() as u64 == VCPU_REG_NUM);

impl VcpuReg {
    /// The register number.
    pub const fn number(self) -> u64 {
        self as u64
    }

    /// The register with number `n`, or `None` if out of range.
    pub fn from_number(n: u64) -> Option<VcpuReg> {
        usize::try_from(n)
            .ok()
            .and_then(|i| VcpuReg::ALL.get(i))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::{USER_CONTEXT_WORDS, UserContext, VCPU_REG_NUM, VcpuReg};

    #[test]
    fn x_register_indices_follow_sel4_order() {
        for n in 0..=30u8 {
            let i = UserContext::index_of_x(n).expect("valid register");
            assert_eq!(UserContext::C_FIELD_NAMES[i], std::format!("x{n}"));
        }
        assert_eq!(UserContext::index_of_x(31), None);
        assert_eq!(UserContext::index_of_x(255), None);
        assert_eq!(
            UserContext::C_FIELD_NAMES[UserContext::TPIDR_EL0],
            "tpidr_el0"
        );
        assert_eq!(core::mem::size_of::<UserContext>(), 8 * USER_CONTEXT_WORDS);
    }

    #[test]
    fn accessors_write_the_right_word() {
        let mut ctx = UserContext::default();
        assert!(ctx.set_x(29, 0xAA));
        assert!(!ctx.set_x(31, 1));
        ctx.set_pc(0x1000);
        ctx.set_spsr(0x3c5);
        assert_eq!(ctx.words()[15], 0xAA);
        assert_eq!(ctx.x(29), Some(0xAA));
        assert_eq!(ctx.x(31), None);
        assert_eq!((ctx.words()[0], ctx.words()[2]), (0x1000, 0x3c5));
    }

    #[test]
    fn vcpu_register_numbers() {
        for (i, r) in VcpuReg::ALL.iter().enumerate() {
            assert_eq!(r.number(), i as u64);
            assert_eq!(VcpuReg::from_number(i as u64), Some(*r));
        }
        assert_eq!(VcpuReg::from_number(VCPU_REG_NUM), None);
        assert_eq!(VcpuReg::VmpidrEl2.number(), 16);
        assert_eq!(VcpuReg::CntkctlEl1.c_name(), "seL4_VCPUReg_CNTKCTL_EL1");
    }
}
