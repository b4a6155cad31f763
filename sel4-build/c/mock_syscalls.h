/*
 * sel4-build's stand-in for libsel4's <sel4/sel4_arch/syscalls.h>, which is aarch64 inline
 * assembly. The ABI probe (sel4-build/src/probe) puts this file's directory first on the include
 * path, so every libsel4 function that would trap calls these instead: each records its register
 * arguments (system call number, destination, message info, MR0..MR3) in `probe_record` and
 * answers "no error" with zeroed registers. Signatures are those of the aarch64 header at the
 * pinned seL4 commit; the MCS-only and non-MCS-only ones are both declared, which is harmless.
 */
#pragma once

/* Lets a header (or a test fixture) tell the probe's host build from the real one. */
#define SEL4_BUILD_PROBE_MOCK 1

#include <sel4/config.h>
#include <sel4/functions.h>
#include <sel4/types.h>

/* What the stubs handed the kernel since the last reset (defined by the probe). */
struct probe_record {
    unsigned long calls;
    seL4_Word sys, dest, info, mr[4];
};
extern struct probe_record probe_record;

static inline void probe_trap(seL4_Word sys, seL4_Word dest, seL4_Word info, seL4_Word mr0,
                              seL4_Word mr1, seL4_Word mr2, seL4_Word mr3)
{
    probe_record.calls++;
    probe_record.sys = sys;
    probe_record.dest = dest;
    probe_record.info = info;
    probe_record.mr[0] = mr0;
    probe_record.mr[1] = mr1;
    probe_record.mr[2] = mr2;
    probe_record.mr[3] = mr3;
}

static inline void arm_sys_send(seL4_Word sys, seL4_Word dest, seL4_Word info_arg, seL4_Word mr0,
                                seL4_Word mr1, seL4_Word mr2, seL4_Word mr3)
{
    probe_trap(sys, dest, info_arg, mr0, mr1, mr2, mr3);
}

static inline void arm_sys_reply(seL4_Word sys, seL4_Word info_arg, seL4_Word mr0, seL4_Word mr1,
                                 seL4_Word mr2, seL4_Word mr3)
{
    probe_trap(sys, 0, info_arg, mr0, mr1, mr2, mr3);
}

static inline void arm_sys_send_null(seL4_Word sys, seL4_Word src, seL4_Word info_arg)
{
    probe_trap(sys, src, info_arg, 0, 0, 0, 0);
}

static inline void arm_sys_recv(seL4_Word sys, seL4_Word src, seL4_Word *out_badge,
                                seL4_Word *out_info, seL4_Word *out_mr0, seL4_Word *out_mr1,
                                seL4_Word *out_mr2, seL4_Word *out_mr3, seL4_Word reply)
{
    (void)reply;
    probe_trap(sys, src, 0, 0, 0, 0, 0);
    *out_badge = *out_info = 0;
    *out_mr0 = *out_mr1 = *out_mr2 = *out_mr3 = 0;
}

static inline void arm_sys_send_recv(seL4_Word sys, seL4_Word dest, seL4_Word *out_badge,
                                     seL4_Word info_arg, seL4_Word *out_info,
                                     seL4_Word *in_out_mr0, seL4_Word *in_out_mr1,
                                     seL4_Word *in_out_mr2, seL4_Word *in_out_mr3,
                                     seL4_Word reply)
{
    (void)reply;
    probe_trap(sys, dest, info_arg, *in_out_mr0, *in_out_mr1, *in_out_mr2, *in_out_mr3);
    *out_badge = *out_info = 0;
    *in_out_mr0 = *in_out_mr1 = *in_out_mr2 = *in_out_mr3 = 0;
}

static inline void arm_sys_nbsend_recv(seL4_Word sys, seL4_Word dest, seL4_Word src,
                                       seL4_Word *out_badge, seL4_Word info_arg,
                                       seL4_Word *out_info, seL4_Word *in_out_mr0,
                                       seL4_Word *in_out_mr1, seL4_Word *in_out_mr2,
                                       seL4_Word *in_out_mr3, seL4_Word reply)
{
    (void)src;
    (void)reply;
    probe_trap(sys, dest, info_arg, *in_out_mr0, *in_out_mr1, *in_out_mr2, *in_out_mr3);
    *out_badge = *out_info = 0;
    *in_out_mr0 = *in_out_mr1 = *in_out_mr2 = *in_out_mr3 = 0;
}

static inline void arm_sys_null(seL4_Word sys)
{
    probe_trap(sys, 0, 0, 0, 0, 0, 0);
}
