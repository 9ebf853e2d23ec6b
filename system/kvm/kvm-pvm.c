/*
 * PVM detection. Some hosts (nested clouds) serve /dev/kvm with kvm_pvm, a hypervisor for guests built for
 * it: its API is complete, but an ordinary guest runs in KVM's instruction emulator, where simple code works
 * and a stock Linux kernel does not boot. Users must be told plainly, so we look for the module.
 */
#include <unistd.h>

#include "system/kvm/kvm-internal.h"

bool kvm_is_pvm(void)
{
    return access("/sys/module/kvm_pvm", F_OK) == 0;
}
