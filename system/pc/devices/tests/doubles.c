/* Test doubles for the front end's run-control requests, which the devices call (reset lines, S5). */
#include "system/pc/machine.h"

int test_reset_requests, test_shutdown_requests;
MachineShutdownCause test_last_cause;

void machine_request_reset(Machine *m, MachineShutdownCause cause)
{
    (void)m;
    test_reset_requests++;
    test_last_cause = cause;
}

void machine_request_shutdown(Machine *m, MachineShutdownCause cause)
{
    (void)m;
    test_shutdown_requests++;
    test_last_cause = cause;
}

void machine_request_powerdown(Machine *m) { (void)m; }
