//! One sample call of every request builder of the `sel4` crate, with the same values as the
//! arguments of libsel4's stub (in the stub's parameter order, after the service capability),
//! so `abi` can run the stub through the probe and compare the messages word by word.

use sel4::{
    CNodeCapData, CNodeSlotOp, CacheOp, Cap, CapRights, IrqTrigger, ObjectType, Request,
    UserContext, VcpuReg, VirqInjection, VmAttributes,
};

use crate::probe::CArg;

/// (libsel4 stub name, its arguments after the service capability, the crate's request).
pub type Sample = (&'static str, Vec<CArg>, Request);

/// Integer arguments.
fn args(values: &[u64]) -> Vec<CArg> {
    values.iter().map(|v| CArg::Word(*v)).collect()
}

/// A struct argument with the given members set.
fn record(ty: &str, pointer: bool, fields: &[(&str, u64)]) -> CArg {
    CArg::Struct {
        ty: ty.to_string(),
        pointer,
        fields: fields.iter().map(|(m, v)| ((*m).to_string(), *v)).collect(),
    }
}

/// A `seL4_CapRights_t` passed by value.
fn rights_arg(r: CapRights) -> CArg {
    record("seL4_CapRights_t", false, &[("words[0]", r.word())])
}

fn c<T: sel4::CapType>(v: u64) -> Cap<T> {
    Cap::from_cptr(v)
}

/// Every sample for `config`; values are small and distinct so a swapped argument cannot go
/// unnoticed. Methods whose layout MCS changes are sampled with the builder of the
/// configuration's layout; methods only one kind of kernel has are sampled only there.
pub fn samples(config: sel4::Config) -> Vec<Sample> {
    let rights = CapRights::new(true, false, true, true); // 0xB
    let mut regs = UserContext::default();
    for (i, w) in regs.words_mut().iter_mut().enumerate() {
        *w = 0x1000 + i as u64;
    }
    let mut v = vec![
        (
            "seL4_Untyped_Retype",
            args(&[7, 12, 2, 33, 44, 55, 66]),
            Request::untyped_retype(ObjectType::SmallPage, 12, c(2), 33, 44, 55, 66),
        ),
        (
            "seL4_CNode_Copy",
            [args(&[11, 22, 33, 44, 55]), vec![rights_arg(rights)]].concat(),
            Request::cnode_copy(11, 22, c(33), 44, 55, rights),
        ),
        (
            "seL4_CNode_Mint",
            [
                args(&[11, 22, 33, 44, 55]),
                vec![rights_arg(rights), CArg::Word(0xABCD)],
            ]
            .concat(),
            Request::cnode_mint(11, 22, c(33), 44, 55, rights, 0xABCD),
        ),
        (
            "seL4_CNode_Move",
            args(&[11, 22, 33, 44, 55]),
            Request::cnode_move(11, 22, c(33), 44, 55),
        ),
        (
            "seL4_CNode_Mutate",
            args(&[11, 22, 33, 44, 55, 66]),
            Request::cnode_mutate(11, 22, c(33), 44, 55, 66),
        ),
        (
            "seL4_CNode_Rotate",
            args(&[11, 22, 33, 44, 55, 66, 77, 88, 99, 111]),
            Request::cnode_rotate(11, 22, 33, c(44), 55, 66, 77, c(88), 99, 111),
        ),
    ];
    for (name, op) in [
        ("seL4_CNode_Delete", CNodeSlotOp::Delete),
        ("seL4_CNode_Revoke", CNodeSlotOp::Revoke),
        ("seL4_CNode_SaveCaller", CNodeSlotOp::SaveCaller),
        (
            "seL4_CNode_CancelBadgedSends",
            CNodeSlotOp::CancelBadgedSends,
        ),
    ] {
        v.push((name, args(&[11, 22]), Request::cnode_slot_op(op, 11, 22)));
    }
    let reg_fields: Vec<(&str, u64)> = UserContext::C_FIELD_NAMES
        .into_iter()
        .zip(regs.words().iter().copied())
        .collect();
    let mut reg_args = args(&[1, 0x22, 36]);
    reg_args.push(record("seL4_UserContext", true, &reg_fields));
    v.extend([
        (
            "seL4_TCB_ReadRegisters",
            [
                args(&[1, 0x22, 36]),
                vec![record("seL4_UserContext", true, &[])],
            ]
            .concat(),
            Request::tcb_read_registers(true, 0x22, 36),
        ),
        (
            "seL4_TCB_WriteRegisters",
            reg_args,
            Request::tcb_write_registers(true, 0x22, 36, &regs),
        ),
        (
            "seL4_TCB_Configure",
            args(&[11, 22, 33, 44, 55, 66, 77]),
            Request::tcb_configure(11, c(22), CNodeCapData::new(0, 33), c(44), 55, 66, c(77)),
        ),
        (
            "seL4_TCB_SetSpace",
            args(&[11, 22, 33, 44, 55]),
            Request::tcb_set_space(11, c(22), CNodeCapData::new(0, 33), c(44), 55),
        ),
        (
            "seL4_TCB_SetIPCBuffer",
            args(&[11, 22]),
            Request::tcb_set_ipc_buffer(11, c(22)),
        ),
        (
            "seL4_TCB_SetPriority",
            args(&[11, 22]),
            Request::tcb_set_priority(c(11), 22),
        ),
        (
            "seL4_TCB_SetMCPriority",
            args(&[11, 22]),
            Request::tcb_set_mc_priority(c(11), 22),
        ),
        (
            "seL4_TCB_SetSchedParams",
            args(&[11, 22, 33]),
            Request::tcb_set_sched_params(c(11), 22, 33),
        ),
        ("seL4_TCB_Suspend", args(&[]), Request::tcb_suspend()),
        ("seL4_TCB_Resume", args(&[]), Request::tcb_resume()),
        (
            "seL4_TCB_BindNotification",
            args(&[11]),
            Request::tcb_bind_notification(c(11)),
        ),
        (
            "seL4_TCB_UnbindNotification",
            args(&[]),
            Request::tcb_unbind_notification(),
        ),
        (
            "seL4_TCB_SetTLSBase",
            args(&[11]),
            Request::tcb_set_tls_base(11),
        ),
        (
            "seL4_TCB_SetFlags",
            args(&[11, 22]),
            Request::tcb_set_flags(11, 22),
        ),
        (
            "seL4_ARM_PageTable_Map",
            args(&[11, 0x20_0000, 5]),
            Request::page_table_map(c(11), 0x20_0000, VmAttributes::from_word(5)),
        ),
        (
            "seL4_ARM_PageTable_Unmap",
            args(&[]),
            Request::page_table_unmap(),
        ),
        (
            "seL4_ARM_Page_Map",
            vec![
                CArg::Word(11),
                CArg::Word(0x1000),
                rights_arg(rights),
                CArg::Word(4),
            ],
            Request::frame_map(c(11), 0x1000, rights, VmAttributes::EXECUTE_NEVER),
        ),
        ("seL4_ARM_Page_Unmap", args(&[]), Request::frame_unmap()),
        (
            "seL4_ARM_Page_GetAddress",
            args(&[]),
            Request::frame_get_address(),
        ),
    ]);
    for (name, op) in [
        ("Clean_Data", CacheOp::Clean),
        ("Invalidate_Data", CacheOp::Invalidate),
        ("CleanInvalidate_Data", CacheOp::CleanInvalidate),
        ("Unify_Instruction", CacheOp::UnifyInstruction),
    ] {
        let page = args(&[11, 22]);
        v.push((page_name(name), page, Request::frame_cache_op(op, 11, 22)));
        let vspace = args(&[33, 44]);
        v.push((
            vspace_name(name),
            vspace,
            Request::vspace_cache_op(op, 33, 44),
        ));
    }
    let inj = VirqInjection {
        virq: 0x1AB,
        priority: 0x12,
        group: 1,
        index: 3,
    };
    let smc_words: [u64; 8] = [0x8400_0008, 11, 22, 33, 44, 55, 66, 77];
    let smc_fields = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"];
    let smc_fields: Vec<(&str, u64)> = smc_fields.into_iter().zip(smc_words).collect();
    let smc = vec![
        record("seL4_ARM_SMCContext", true, &smc_fields),
        record("seL4_ARM_SMCContext", true, &[]),
    ];
    v.extend([
        (
            "seL4_ARM_ASIDControl_MakePool",
            args(&[11, 22, 33, 44]),
            Request::asid_control_make_pool(c(11), c(22), 33, 44),
        ),
        (
            "seL4_ARM_ASIDPool_Assign",
            args(&[11]),
            Request::asid_pool_assign(c(11)),
        ),
        (
            "seL4_ARM_VCPU_SetTCB",
            args(&[11]),
            Request::vcpu_set_tcb(c(11)),
        ),
        (
            "seL4_ARM_VCPU_InjectIRQ",
            args(&[0x1AB, 0x12, 1, 3]),
            Request::vcpu_inject_irq(inj),
        ),
        (
            "seL4_ARM_VCPU_ReadRegs",
            args(&[22]),
            Request::vcpu_read_regs(VcpuReg::Cntvoff),
        ),
        (
            "seL4_ARM_VCPU_WriteRegs",
            args(&[16, 0x8000_0001]),
            Request::vcpu_write_regs(VcpuReg::VmpidrEl2, 0x8000_0001),
        ),
        (
            "seL4_ARM_VCPU_AckVPPI",
            args(&[27]),
            Request::vcpu_ack_vppi(27),
        ),
        (
            "seL4_IRQControl_Get",
            args(&[33, 2, 44, 55]),
            Request::irq_control_get(33, c(2), 44, 55),
        ),
        (
            "seL4_IRQControl_GetTrigger",
            args(&[33, 1, 2, 44, 55]),
            Request::irq_control_get_trigger(33, IrqTrigger::Edge, c(2), 44, 55),
        ),
        ("seL4_IRQHandler_Ack", args(&[]), Request::irq_handler_ack()),
        (
            "seL4_IRQHandler_SetNotification",
            args(&[11]),
            Request::irq_handler_set_notification(c(11)),
        ),
        (
            "seL4_IRQHandler_Clear",
            args(&[]),
            Request::irq_handler_clear(),
        ),
        ("seL4_ARM_SMC_Call", smc, Request::smc_call(&smc_words)),
    ]);
    let tcb_layout = [
        "seL4_TCB_Configure",
        "seL4_TCB_SetSpace",
        "seL4_TCB_SetSchedParams",
    ];
    if config.mcs {
        v.retain(|(name, _, _)| *name != "seL4_CNode_SaveCaller" && !tcb_layout.contains(name));
        v.extend(mcs_samples());
    }
    if config.smp && !config.mcs {
        v.push((
            "seL4_TCB_SetAffinity",
            args(&[3]),
            Request::tcb_set_affinity(3),
        ));
    }
    v
}

/// The MCS layouts of the TCB methods, and the MCS-only methods.
fn mcs_samples() -> Vec<Sample> {
    vec![
        (
            "seL4_TCB_Configure",
            args(&[22, 33, 44, 55, 66, 77]),
            Request::tcb_configure_mcs(c(22), CNodeCapData::new(0, 33), c(44), 55, 66, c(77)),
        ),
        (
            "seL4_TCB_SetSpace",
            args(&[11, 22, 33, 44, 55]),
            Request::tcb_set_space_mcs(11, c(22), CNodeCapData::new(0, 33), c(44), 55),
        ),
        (
            "seL4_TCB_SetSchedParams",
            args(&[11, 22, 33, 44, 55]),
            Request::tcb_set_sched_params_mcs(c(11), 22, 33, 44, 55),
        ),
        (
            "seL4_TCB_SetTimeoutEndpoint",
            args(&[11]),
            Request::tcb_set_timeout_endpoint(11),
        ),
        (
            "seL4_SchedControl_ConfigureFlags",
            args(&[11, 22, 33, 44, 55, 66]),
            Request::sched_control_configure_flags(11, 22, 33, 44, 55, 66),
        ),
        (
            "seL4_SchedContext_Bind",
            args(&[11]),
            Request::sched_context_bind(11),
        ),
        (
            "seL4_SchedContext_Unbind",
            args(&[]),
            Request::sched_context_unbind(),
        ),
        (
            "seL4_SchedContext_UnbindObject",
            args(&[11]),
            Request::sched_context_unbind_object(11),
        ),
        (
            "seL4_SchedContext_Consumed",
            args(&[]),
            Request::sched_context_consumed(),
        ),
    ]
}

fn page_name(op: &str) -> &'static str {
    match op {
        "Clean_Data" => "seL4_ARM_Page_Clean_Data",
        "Invalidate_Data" => "seL4_ARM_Page_Invalidate_Data",
        "CleanInvalidate_Data" => "seL4_ARM_Page_CleanInvalidate_Data",
        _ => "seL4_ARM_Page_Unify_Instruction",
    }
}

fn vspace_name(op: &str) -> &'static str {
    match op {
        "Clean_Data" => "seL4_ARM_VSpace_Clean_Data",
        "Invalidate_Data" => "seL4_ARM_VSpace_Invalidate_Data",
        "CleanInvalidate_Data" => "seL4_ARM_VSpace_CleanInvalidate_Data",
        _ => "seL4_ARM_VSpace_Unify_Instruction",
    }
}
