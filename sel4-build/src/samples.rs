//! One sample call of every request builder of the `sel4` crate, with the argument values
//! named as in libsel4's stubs, so `abi` can evaluate libsel4's marshalling with the same
//! values and compare word by word.

use sel4::{
    CNodeCapData, CNodeSlotOp, CacheOp, Cap, CapRights, IrqTrigger, ObjectType, Request,
    UserContext, VcpuReg, VirqInjection, VmAttributes,
};

/// (libsel4 stub name, argument values by C expression name, the crate's request).
pub type Sample = (&'static str, Vec<(String, u64)>, Request);

fn args(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(n, v)| ((*n).to_string(), *v)).collect()
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
            args(&[
                ("type", 7),
                ("size_bits", 12),
                ("root", 2),
                ("node_index", 33),
                ("node_depth", 44),
                ("node_offset", 55),
                ("num_objects", 66),
            ]),
            Request::untyped_retype(ObjectType::SmallPage, 12, c(2), 33, 44, 55, 66),
        ),
        (
            "seL4_CNode_Copy",
            args(&[
                ("dest_index", 11),
                ("dest_depth", 22),
                ("src_root", 33),
                ("src_index", 44),
                ("src_depth", 55),
                ("rights.words[0]", 0xB),
            ]),
            Request::cnode_copy(11, 22, c(33), 44, 55, rights),
        ),
        (
            "seL4_CNode_Mint",
            args(&[
                ("dest_index", 11),
                ("dest_depth", 22),
                ("src_root", 33),
                ("src_index", 44),
                ("src_depth", 55),
                ("rights.words[0]", 0xB),
                ("badge", 0xABCD),
            ]),
            Request::cnode_mint(11, 22, c(33), 44, 55, rights, 0xABCD),
        ),
        (
            "seL4_CNode_Move",
            args(&[
                ("dest_index", 11),
                ("dest_depth", 22),
                ("src_root", 33),
                ("src_index", 44),
                ("src_depth", 55),
            ]),
            Request::cnode_move(11, 22, c(33), 44, 55),
        ),
        (
            "seL4_CNode_Mutate",
            args(&[
                ("dest_index", 11),
                ("dest_depth", 22),
                ("src_root", 33),
                ("src_index", 44),
                ("src_depth", 55),
                ("badge", 66),
            ]),
            Request::cnode_mutate(11, 22, c(33), 44, 55, 66),
        ),
        (
            "seL4_CNode_Rotate",
            args(&[
                ("dest_index", 11),
                ("dest_depth", 22),
                ("dest_badge", 33),
                ("pivot_root", 44),
                ("pivot_index", 55),
                ("pivot_depth", 66),
                ("pivot_badge", 77),
                ("src_root", 88),
                ("src_index", 99),
                ("src_depth", 111),
            ]),
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
        v.push((
            name,
            args(&[("index", 11), ("depth", 22)]),
            Request::cnode_slot_op(op, 11, 22),
        ));
    }
    let mut reg_args = args(&[("resume_target", 1), ("arch_flags", 0x22), ("count", 36)]);
    reg_args.extend([
        ("regs->pc".to_string(), regs.pc()),
        ("regs->sp".to_string(), regs.sp()),
    ]);
    v.extend([
        (
            "seL4_TCB_ReadRegisters",
            args(&[("suspend_source", 1), ("arch_flags", 0x22), ("count", 36)]),
            Request::tcb_read_registers(true, 0x22, 36),
        ),
        (
            "seL4_TCB_WriteRegisters",
            reg_args,
            Request::tcb_write_registers(true, 0x22, 36, &regs),
        ),
        (
            "seL4_TCB_Configure",
            args(&[
                ("fault_ep", 11),
                ("cspace_root", 22),
                ("cspace_root_data", 33),
                ("vspace_root", 44),
                ("vspace_root_data", 55),
                ("buffer", 66),
                ("bufferFrame", 77),
            ]),
            Request::tcb_configure(11, c(22), CNodeCapData::new(0, 33), c(44), 55, 66, c(77)),
        ),
        (
            "seL4_TCB_SetSpace",
            args(&[
                ("fault_ep", 11),
                ("cspace_root", 22),
                ("cspace_root_data", 33),
                ("vspace_root", 44),
                ("vspace_root_data", 55),
            ]),
            Request::tcb_set_space(11, c(22), CNodeCapData::new(0, 33), c(44), 55),
        ),
        (
            "seL4_TCB_SetIPCBuffer",
            args(&[("buffer", 11), ("bufferFrame", 22)]),
            Request::tcb_set_ipc_buffer(11, c(22)),
        ),
        (
            "seL4_TCB_SetPriority",
            args(&[("authority", 11), ("priority", 22)]),
            Request::tcb_set_priority(c(11), 22),
        ),
        (
            "seL4_TCB_SetMCPriority",
            args(&[("authority", 11), ("mcp", 22)]),
            Request::tcb_set_mc_priority(c(11), 22),
        ),
        (
            "seL4_TCB_SetSchedParams",
            args(&[("authority", 11), ("mcp", 22), ("priority", 33)]),
            Request::tcb_set_sched_params(c(11), 22, 33),
        ),
        ("seL4_TCB_Suspend", args(&[]), Request::tcb_suspend()),
        ("seL4_TCB_Resume", args(&[]), Request::tcb_resume()),
        (
            "seL4_TCB_BindNotification",
            args(&[("notification", 11)]),
            Request::tcb_bind_notification(c(11)),
        ),
        (
            "seL4_TCB_UnbindNotification",
            args(&[]),
            Request::tcb_unbind_notification(),
        ),
        (
            "seL4_TCB_SetTLSBase",
            args(&[("tls_base", 11)]),
            Request::tcb_set_tls_base(11),
        ),
        (
            "seL4_TCB_SetFlags",
            args(&[("clear", 11), ("set", 22)]),
            Request::tcb_set_flags(11, 22),
        ),
        (
            "seL4_ARM_PageTable_Map",
            args(&[("vspace", 11), ("vaddr", 0x20_0000), ("attr", 5)]),
            Request::page_table_map(c(11), 0x20_0000, VmAttributes::from_word(5)),
        ),
        (
            "seL4_ARM_PageTable_Unmap",
            args(&[]),
            Request::page_table_unmap(),
        ),
        (
            "seL4_ARM_Page_Map",
            args(&[
                ("vspace", 11),
                ("vaddr", 0x1000),
                ("rights.words[0]", 0xB),
                ("attr", 4),
            ]),
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
        let page = args(&[("start_offset", 11), ("end_offset", 22)]);
        v.push((page_name(name), page, Request::frame_cache_op(op, 11, 22)));
        let vspace = args(&[("start", 33), ("end", 44)]);
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
    let mut smc = args(&[]);
    let smc_words: [u64; 8] = [0x8400_0008, 11, 22, 33, 44, 55, 66, 77];
    for (i, w) in smc_words.iter().enumerate() {
        smc.push((format!("smc_args->x{i}"), *w));
    }
    v.extend([
        (
            "seL4_ARM_ASIDControl_MakePool",
            args(&[("untyped", 11), ("root", 22), ("index", 33), ("depth", 44)]),
            Request::asid_control_make_pool(c(11), c(22), 33, 44),
        ),
        (
            "seL4_ARM_ASIDPool_Assign",
            args(&[("vspace", 11)]),
            Request::asid_pool_assign(c(11)),
        ),
        (
            "seL4_ARM_VCPU_SetTCB",
            args(&[("tcb", 11)]),
            Request::vcpu_set_tcb(c(11)),
        ),
        (
            "seL4_ARM_VCPU_InjectIRQ",
            args(&[
                ("virq", 0x1AB),
                ("priority", 0x12),
                ("group", 1),
                ("index", 3),
            ]),
            Request::vcpu_inject_irq(inj),
        ),
        (
            "seL4_ARM_VCPU_ReadRegs",
            args(&[("field", 22)]),
            Request::vcpu_read_regs(VcpuReg::Cntvoff),
        ),
        (
            "seL4_ARM_VCPU_WriteRegs",
            args(&[("field", 16), ("value", 0x8000_0001)]),
            Request::vcpu_write_regs(VcpuReg::VmpidrEl2, 0x8000_0001),
        ),
        (
            "seL4_ARM_VCPU_AckVPPI",
            args(&[("irq", 27)]),
            Request::vcpu_ack_vppi(27),
        ),
        (
            "seL4_IRQControl_Get",
            args(&[("irq", 33), ("root", 2), ("index", 44), ("depth", 55)]),
            Request::irq_control_get(33, c(2), 44, 55),
        ),
        (
            "seL4_IRQControl_GetTrigger",
            args(&[
                ("irq", 33),
                ("trigger", 1),
                ("root", 2),
                ("index", 44),
                ("depth", 55),
            ]),
            Request::irq_control_get_trigger(33, IrqTrigger::Edge, c(2), 44, 55),
        ),
        ("seL4_IRQHandler_Ack", args(&[]), Request::irq_handler_ack()),
        (
            "seL4_IRQHandler_SetNotification",
            args(&[("notification", 11)]),
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
            args(&[("affinity", 3)]),
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
            args(&[
                ("cspace_root", 22),
                ("cspace_root_data", 33),
                ("vspace_root", 44),
                ("vspace_root_data", 55),
                ("buffer", 66),
                ("bufferFrame", 77),
            ]),
            Request::tcb_configure_mcs(c(22), CNodeCapData::new(0, 33), c(44), 55, 66, c(77)),
        ),
        (
            "seL4_TCB_SetSpace",
            args(&[
                ("fault_ep", 11),
                ("cspace_root", 22),
                ("cspace_root_data", 33),
                ("vspace_root", 44),
                ("vspace_root_data", 55),
            ]),
            Request::tcb_set_space_mcs(11, c(22), CNodeCapData::new(0, 33), c(44), 55),
        ),
        (
            "seL4_TCB_SetSchedParams",
            args(&[
                ("authority", 11),
                ("mcp", 22),
                ("priority", 33),
                ("sched_context", 44),
                ("fault_ep", 55),
            ]),
            Request::tcb_set_sched_params_mcs(c(11), 22, 33, 44, 55),
        ),
        (
            "seL4_TCB_SetTimeoutEndpoint",
            args(&[("timeout_fault_ep", 11)]),
            Request::tcb_set_timeout_endpoint(11),
        ),
        (
            "seL4_SchedControl_ConfigureFlags",
            args(&[
                ("schedcontext", 11),
                ("budget", 22),
                ("period", 33),
                ("extra_refills", 44),
                ("badge", 55),
                ("flags", 66),
            ]),
            Request::sched_control_configure_flags(11, 22, 33, 44, 55, 66),
        ),
        (
            "seL4_SchedContext_Bind",
            args(&[("cap", 11)]),
            Request::sched_context_bind(11),
        ),
        (
            "seL4_SchedContext_Unbind",
            args(&[]),
            Request::sched_context_unbind(),
        ),
        (
            "seL4_SchedContext_UnbindObject",
            args(&[("cap", 11)]),
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
