#!/bin/sh
# Runs the guest images at EL1 under the `qemu-harness` EL2 mini-VMM in QEMU and checks every
# exit against the `guests` contract (see docs/GUESTS.md, "QEMU harness").
#
#   cargo build -p guests --target aarch64-unknown-none --release
#   guests/qemu-check.sh [DIR]      # DIR: where the ELFs are
#                                   # (default $CARGO_TARGET_DIR or target, /aarch64-unknown-none/release)
#
# Exit status 0 if every check printed PASS (hostile: every run ended in PASS or in a
# documented STUCK step, after which it restarts at the next step).
set -u
dir=${1:-${CARGO_TARGET_DIR:-target}/aarch64-unknown-none/release}
qemu=${QEMU:-qemu-system-aarch64}
cfg=0x41fff000
magic=0x4746435453455547 # "GUESTCFG"

# run MODE GUEST X0 X1 X2 X3: prints the harness's report.
run() {
    timeout 60 "$qemu" -machine virt,virtualization=on,gic-version=2 -cpu cortex-a57 -m 1024 \
        -smp 1 -nographic -monitor none -serial stdio -kernel "$dir/qemu-harness" \
        -device loader,file="$dir/$2",addr=0x40800000,force-raw=on \
        -device loader,addr=$cfg,data=$magic,data-len=8 \
        -device loader,addr=$((cfg + 8)),data="$1",data-len=8 \
        -device loader,addr=$((cfg + 16)),data="$3",data-len=8 \
        -device loader,addr=$((cfg + 24)),data="$4",data-len=8 \
        -device loader,addr=$((cfg + 32)),data="$5",data-len=8 \
        -device loader,addr=$((cfg + 40)),data="$6",data-len=8 2>&1
}

failed=0
check() {
    name=$1
    shift
    out=$(run "$@")
    printf '%s\n' "$out" | sed "s/^/  $name: /"
    case $out in *PASS*) ;; *) failed=1 ;; esac
}

check hello 1 hello 0 0 0 0
check irq 2 irq 0 0 0 0
# compute: x0 = -1, x1 = 2 (wrapping sum 1), x2 = 3, x3 = 7.
check compute 3 compute 0xffffffffffffffff 2 3 7
check mmio 4 mmio 0 0 0 0
check spin 6 spin 0 0 0 0

# hostile: restart after each documented stuck step.
step=0
runs=0
while :; do
    out=$(run 5 hostile "$step" 0 0 0)
    runs=$((runs + 1))
    case $out in
    *"STUCK "*)
        stuck=$(printf '%s\n' "$out" | sed -n 's/.*STUCK \([0-9]*\).*/\1/p' | head -n1)
        step=$((stuck + 1))
        ;;
    *PASS*)
        printf '%s\n' "$out" | sed 's/^/  hostile: /'
        break
        ;;
    *)
        printf '%s\n' "$out" | sed 's/^/  hostile: /'
        failed=1
        break
        ;;
    esac
done
echo "  hostile: $runs QEMU runs"

if [ $failed -eq 0 ]; then echo "qemu-check: all PASS"; else echo "qemu-check: FAILED"; fi
exit $failed
