/*
 * Included first by the probe program sel4-build generates (sel4-build/src/probe): libsel4 with
 * the recording stand-in for the system calls (mock_syscalls.h), a local IPC buffer, and the
 * printers whose one-line answers sel4-build parses. Each answer line starts with `q<index>`,
 * the index of the query in sel4-build's list.
 */
#pragma once

#include <stdio.h>
#include <sel4/sel4.h>

/* The capability the stubs are invoked on; the recorded destination must be this. */
#define PROBE_SERVICE 0x7e5

struct probe_record probe_record;
static seL4_IPCBuffer probe_ipc;
LIBSEL4_THREAD_LOCAL seL4_IPCBuffer *__sel4_ipc_buffer = &probe_ipc;

/* `q<id> int <value>`: an integer constant expression (checked to be one at compile time). */
#define PROBE_INT(id, x)                                                                       \
    do {                                                                                       \
        _Static_assert((x) > 0 || (x) <= 0, "an integer constant expression");                 \
        if ((x) < 0)                                                                           \
            printf("q%u int -%llu\n", (unsigned)(id), -(unsigned long long)(x));               \
        else                                                                                   \
            printf("q%u int %llu\n", (unsigned)(id), (unsigned long long)(x));                 \
    } while (0)

/*
 * `q<id> bits <shift> <width>`: where the getter `get` of the one-word bitfield type `T` reads
 * its field: the lowest word bit it sees, and how many bits it returns of an all-ones word.
 */
#define PROBE_BITS(id, T, get)                                                                 \
    do {                                                                                       \
        T v_;                                                                                  \
        int shift_ = -1;                                                                       \
        _Static_assert(sizeof(v_.words) == sizeof(seL4_Uint64), "a one-word block");           \
        v_.words[0] = ~0ull;                                                                   \
        seL4_Uint64 all_ = get(v_);                                                            \
        for (int k_ = 0; k_ < 64 && shift_ < 0; k_++) {                                        \
            v_.words[0] = 1ull << k_;                                                          \
            if (get(v_))                                                                       \
                shift_ = k_;                                                                   \
        }                                                                                      \
        printf("q%u bits %d %d\n", (unsigned)(id), shift_, __builtin_popcountll(all_));       \
    } while (0)

/* Forgets earlier calls and clears the IPC buffer before a stub runs. */
static void probe_call_begin(void)
{
    __builtin_memset(&probe_record, 0, sizeof probe_record);
    __builtin_memset(&probe_ipc, 0, sizeof probe_ipc);
}

/*
 * `q<id> call <calls> <dest> <label> <extraCaps> <length> <n> cap... <m> word...`: the message
 * the stub handed the kernel, decoded with libsel4's own getters: the label, extraCaps and
 * length of the tag, the cap slots (IPC buffer) and the words (MR0..MR3 from the registers,
 * the rest from the IPC buffer), at most as many as the buffer holds.
 */
static void probe_call_end(unsigned id)
{
    seL4_MessageInfo_t tag = {{probe_record.info}};
    seL4_Word caps = seL4_MessageInfo_get_extraCaps(tag);
    seL4_Word length = seL4_MessageInfo_get_length(tag);
    seL4_Word shown_caps = caps < seL4_MsgMaxExtraCaps ? caps : seL4_MsgMaxExtraCaps;
    seL4_Word shown_words = length < seL4_MsgMaxLength ? length : seL4_MsgMaxLength;
    printf("q%u call %lu %llu %llu %llu %llu", id, probe_record.calls,
           (unsigned long long)probe_record.dest,
           (unsigned long long)seL4_MessageInfo_get_label(tag), (unsigned long long)caps,
           (unsigned long long)length);
    printf(" %llu", (unsigned long long)shown_caps);
    for (seL4_Word i = 0; i < shown_caps; i++)
        printf(" %llu", (unsigned long long)probe_ipc.caps_or_badges[i]);
    printf(" %llu", (unsigned long long)shown_words);
    for (seL4_Word i = 0; i < shown_words; i++)
        printf(" %llu", (unsigned long long)(i < 4 ? probe_record.mr[i] : probe_ipc.msg[i]));
    printf("\n");
}
