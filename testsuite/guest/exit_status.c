/* Exits with the status given as argv[1] through exit(), _exit() or returning from main (argv[2]). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bye(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 0;
    const char *how = argc > 2 ? argv[2] : "return";
    atexit(bye);
    printf("exiting with %d by %s\n", code, how);
    if (strcmp(how, "_exit") == 0) {
        fflush(stdout);
        _exit(code);
    }
    if (strcmp(how, "exit") == 0)
        exit(code);
    return code;
}
