#!/bin/sh
# Boot test of vcpu-loader: builds the smoke root task, embeds it with the
# reference seL4 kernel into the loader image, boots QEMU (plain and -icount)
# and checks the console for the kernel's and the root task's lines. The
# smoke task powers QEMU off through PSCI SYSTEM_OFF, so success is also
# QEMU exiting with status 0 before the timeout.
#
# Environment: SEL4_KERNEL_ELF (default /work/sel4-prefix/bin/kernel.elf),
# SEL4_DTB (optional, passed on to the loader build), CARGO_TARGET_DIR
# (default /work/targets/loader).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
loader_dir=$(dirname "$here")
target=${CARGO_TARGET_DIR:-/work/targets/loader}
kernel=${SEL4_KERNEL_ELF:-/work/sel4-prefix/bin/kernel.elf}
smoke_target=$target/smoke-root-task

(cd "$here/smoke-root-task" &&
    CARGO_TARGET_DIR=$smoke_target cargo build --quiet --release --target aarch64-unknown-none)
root_task=$smoke_target/aarch64-unknown-none/release/smoke-root-task

(cd "$loader_dir" &&
    SEL4_KERNEL_ELF=$kernel ROOT_TASK_ELF=$root_task CARGO_TARGET_DIR=$target \
        cargo build --quiet -p vcpu-loader --features image --target aarch64-unknown-none --release)
image=$target/aarch64-unknown-none/release/vcpu-loader

failed=0
for mode in plain icount; do
    extra=""
    [ "$mode" = icount ] && extra="-icount shift=0,sleep=off"
    log=$(mktemp)
    status=0
    # shellcheck disable=SC2086 # $extra is deliberately split into words.
    timeout 60 qemu-system-aarch64 -machine virt,virtualization=on,secure=off,gic-version=2 \
        -cpu cortex-a57 -smp 1 -m 2048 -nographic $extra -kernel "$image" >"$log" 2>&1 || status=$?
    ok=1
    for line in "loader: entering seL4" "Bootstrapping kernel" \
        "Booting all finished, dropped to user space" "smoke-root-task: hello from the root task"; do
        grep -q "$line" "$log" || { echo "[$mode] missing: $line"; ok=0; }
    done
    [ "$status" -eq 0 ] || { echo "[$mode] QEMU exit status $status (124 = timeout)"; ok=0; }
    if [ "$ok" -eq 1 ]; then
        echo "[$mode] PASS"
    else
        echo "[$mode] FAIL; console:"
        sed 's/^/    /' "$log"
        failed=1
    fi
    rm -f "$log"
done
exit "$failed"
