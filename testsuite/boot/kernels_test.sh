#!/bin/bash
# The test kernels (testsuite/kernels) through the whole front end, ember-system-x86_64: multiboot loading,
# the devices they use (COM1, PIC, PIT, local and I/O APIC, ACPI, PCI, virtio-blk/net/rng) and the
# accelerator.
#   kernels_test.sh BINARY ACCEL KERNEL.bin...
# Each kernel prints "... ok" lines and powers off: the run must end with exit 0, "powering off" last and
# no FAIL. Some kernels get devices and extra checks (kernel_args, check_extra):
#   virtioblk  a raw image the test prepares (1 MiB, a signature in sector 0); the kernel reads it and
#              writes sector 1, which the test then checks in the file; then again with readonly=on, where
#              the write must be refused and the file stay as it was
#   pci        virtio-blk, virtio-net (user networking) and virtio-rng to enumerate
#   nonsense   virtio-blk and virtio-rng to program badly; every case must be reported and survived
#   acpi       -smp 2: the MADT must list 2 local APICs
# triple.bin ends in a triple fault: with -no-reboot the process ends; without it the machine resets and
# the kernel starts again. Under KVM on a PVM host the kernels in pvm_runs run, those in pvm_until run to
# the line given; the others use instructions PVM's instruction emulator cannot run (interrupt delivery
# and return): for those the emulator must stop with a non-zero exit and one error naming the internal
# error, the guest's registers and PVM.
set -u
bin=$1 accel=$2
shift 2
failures=0
pvm=false
pvm_runs=" serial realmode pci virtioblk nonsense acpi "
# Kernels PVM runs part of: the last line it reaches. paging's switch to CPL 3 ends in a triple fault
# there (an exit 0 with -no-reboot) rather than an internal error.
declare -A pvm_until=([paging]="page fault (instruction fetch) ok")
if [[ $accel == kvm ]]; then
    if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
        echo "SKIP: no usable /dev/kvm on this host"
        exit 0
    fi
    [[ -e /sys/module/kvm_pvm ]] && pvm=true
fi
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/kernels.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL $name: $1"
    [[ -n ${2-} ]] && echo "$2"
    failures=$((failures + 1))
}

# A 1 MiB raw disk: "EMBER TEST DISK\n" at the start of sector 0, 55 AA at its end, zeros elsewhere.
make_disk() {
    rm -f "$1"
    truncate -s 1M "$1"
    printf 'EMBER TEST DISK\n' | dd of="$1" conv=notrunc status=none
    printf '\x55\xaa' | dd of="$1" bs=1 seek=510 conv=notrunc status=none
}

# What virtioblk writes to sector 1: a line of text, then each byte's offset (mod 256).
sector1_expected() {
    printf 'written by the virtioblk kernel\n'
    for ((i = 32; i < 512; i++)); do printf "\\x$(printf %02x $((i & 255)))"; done
}

kernel_args() {
    local disk="$work/disk.img"
    case $1 in
    virtioblk) echo "-drive file=$disk,format=raw,if=virtio,id=disk0" ;;
    pci) echo "-drive file=$disk,format=raw,if=virtio,id=disk0 -netdev user,id=net0" \
              "-device virtio-net-pci,netdev=net0 -device virtio-rng-pci" ;;
    nonsense) echo "-m 128 -drive file=$disk,format=raw,if=virtio,id=disk0 -device virtio-rng-pci" ;;
    acpi) echo "-smp 2" ;;
    esac
}

# Checks beyond the common ones; prints a failure and returns 1 if one fails.
check_extra() {
    local out=$2 disk="$work/disk.img"
    case $1 in
    virtioblk)
        if ! cmp -s <(dd if="$disk" bs=512 skip=1 count=1 status=none) <(sector1_expected); then
            echo "sector 1 of the image is not what the kernel wrote:"
            od -An -c -j512 -N64 "$disk"
            return 1
        fi
        if [[ $(head -c 16 "$disk") != "EMBER TEST DISK" ]]; then
            echo "sector 0 of the image changed"; return 1
        fi
        # read-only: the write must fail and the file stay byte for byte
        make_disk "$disk"
        local before after ro rc
        before=$(md5sum <"$disk")
        ro=$(timeout 30 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" \
             -drive "file=$disk,format=raw,if=virtio,id=disk0,readonly=on" </dev/null 2>&1)
        rc=$?
        after=$(md5sum <"$disk")
        if [[ $rc -ne 0 || $ro == *FAIL* || $ro != *"write refused on a read-only disk ok"* ||
              $(tail -n1 <<<"$ro") != "powering off" || $before != "$after" ]]; then
            local changed=no
            [[ $before != "$after" ]] && changed=yes
            echo "readonly=on run: exit $rc, image changed: $changed"
            echo "$ro"
            return 1
        fi
        ;;
    nonsense)
        local cases
        cases=$(grep -c ', recovered ok$' <<<"$out")
        if [[ $cases -lt 42 || $out != *"every case survived ok"* ]]; then
            echo "only $cases cases reported"; return 1
        fi
        ;;
    acpi)
        if [[ $out != *"00000002 local apics in the madt"* ]]; then
            echo "the MADT does not list the 2 CPUs of -smp 2"; return 1
        fi
        ;;
    esac
    return 0
}

for kernel in "$@"; do
    name=$(basename "$kernel" .bin)
    make_disk "$work/disk.img"
    args=$(kernel_args "$name")      # words, expanded unquoted below
    if $pvm && [[ -n ${pvm_until[$name]-} ]]; then
        out=$(timeout 30 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" $args </dev/null 2>&1)
        rc=$?
        until_line=${pvm_until[$name]}
        if [[ $rc -eq 124 || $out == *FAIL* || $out == *"powering off"* || $out != *"$until_line"* ]]; then
            fail "on PVM, expected the checks up to '${pvm_until[$name]}', then a stop (exit $rc)" "$out"
        else
            echo "ok   $name (on PVM up to '${pvm_until[$name]}', then stopped as expected, exit $rc)"
        fi
        continue
    fi
    if $pvm && [[ $pvm_runs != *" $name "* ]]; then
        out=$(timeout 30 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" $args </dev/null 2>&1)
        rc=$?
        if [[ $rc -eq 0 || $rc -eq 124 || $out != *"internal error"*"rip="*"PVM"* ]]; then
            fail "on PVM, expected an internal-error exit naming registers and PVM (exit $rc)" \
                 "$(echo "$out" | tail -3)"
        else
            echo "ok   $name (PVM cannot run it: reported as an internal error, exit $rc)"
        fi
        continue
    fi
    start=$SECONDS
    out=$(timeout 30 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" $args </dev/null 2>&1)
    rc=$?
    if [[ $name == triple ]]; then
        if [[ $rc -ne 0 || $out != *"about to triple fault"* ]]; then
            fail "exit $rc" "$out"; continue
        fi
        # Without -no-reboot a triple fault resets the machine, and the kernel runs again (for ever: we stop
        # it once the second start shows, or after 20 s).
        timeout 20 "$bin" -accel "$accel" -nographic -kernel "$kernel" </dev/null >"$work/again" 2>&1 &
        pid=$!
        for ((i = 0; i < 200; i++)); do
            [[ $(grep -c "about to triple fault" "$work/again") -ge 2 ]] && break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if [[ $(grep -c "about to triple fault" "$work/again") -lt 2 ]]; then
            fail "no reset after the triple fault" "$(tail -5 "$work/again")"; continue
        fi
        echo "ok   $name (exit with -no-reboot, reset without)"
        continue
    fi
    last=$(grep -v '^kvm: note' <<<"$out" | tail -n1)
    if [[ $rc -ne 0 || $last != "powering off" || $out == *FAIL* ]]; then
        fail "exit $rc, last line '$last'" "$out"
    elif ! why=$(check_extra "$name" "$out"); then
        fail "$why" "$out"
    else
        echo "ok   $name ($(grep -c ' ok$' <<<"$out") checks, $((SECONDS - start)) s)"
    fi
done
exit $((failures > 0))
