#!/bin/bash
# The test kernels (testsuite/kernels) through the whole front end, ember-system-x86_64: multiboot loading,
# the devices they use (COM1, PIC, PIT, local APIC, ACPI power-off) and the accelerator.
#   kernels_test.sh BINARY ACCEL KERNEL.bin...
# Each kernel prints "... ok" lines and powers off: the run must end with exit 0, "powering off" last and
# no FAIL. triple.bin ends in a triple fault: with -no-reboot the process ends; without it the machine
# resets and the kernel starts again. Under KVM on a PVM host only serial.bin and realmode.bin run (the
# others use instructions PVM's instruction emulator cannot run): for those the emulator must stop with
# a non-zero exit and one error naming the internal error, the guest's registers and PVM.
set -u
bin=$1 accel=$2
shift 2
failures=0
pvm=false
if [[ $accel == kvm ]]; then
    if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
        echo "SKIP: no usable /dev/kvm on this host"
        exit 0
    fi
    [[ -e /sys/module/kvm_pvm ]] && pvm=true
fi

for kernel in "$@"; do
    name=$(basename "$kernel" .bin)
    if $pvm && [[ $name != serial && $name != realmode ]]; then
        out=$(timeout 120 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" </dev/null 2>&1)
        rc=$?
        if [[ $rc -eq 0 || $rc -eq 124 || $out != *"internal error"*"rip="*"PVM"* ]]; then
            echo "FAIL $name: on PVM, expected an internal-error exit naming registers and PVM (exit $rc)"
            echo "$out" | tail -3; failures=$((failures + 1))
        else
            echo "ok   $name (PVM cannot run it: reported as an internal error, exit $rc)"
        fi
        continue
    fi
    out=$(timeout 120 "$bin" -accel "$accel" -nographic -no-reboot -kernel "$kernel" </dev/null 2>&1)
    rc=$?
    if [[ $name == triple ]]; then
        if [[ $rc -ne 0 || $out != *"about to triple fault"* ]]; then
            echo "FAIL $name: exit $rc"; echo "$out"; failures=$((failures + 1)); continue
        fi
        # Without -no-reboot a triple fault resets the machine, and the kernel runs again.
        again=$(timeout 20 "$bin" -accel "$accel" -nographic -kernel "$kernel" </dev/null 2>&1)
        if [[ $(grep -c "about to triple fault" <<<"$again") -lt 2 ]]; then
            echo "FAIL $name: no reset after the triple fault"; echo "$again" | tail -5
            failures=$((failures + 1)); continue
        fi
        echo "ok   $name (exit with -no-reboot, reset without)"
        continue
    fi
    last=$(grep -v '^kvm: note' <<<"$out" | tail -n1)
    if [[ $rc -ne 0 || $last != "powering off" || $out == *FAIL* ]]; then
        echo "FAIL $name: exit $rc, last line '$last'"; echo "$out"; failures=$((failures + 1))
    else
        echo "ok   $name ($(grep -c ' ok$' <<<"$out") checks)"
    fi
done
exit $((failures > 0))
