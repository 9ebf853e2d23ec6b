/* An ordinary test: some arithmetic, and a file in the test's scratch directory. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    volatile double x = 1.5;
    if (x * x != 2.25) {
        return 1;
    }
    const char *tmp = getenv("TEST_TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/plain_test.txt", tmp ? tmp : "/tmp");
    FILE *f = fopen(path, "w");
    if (!f || fputs("ok\n", f) < 0 || fclose(f) != 0) {
        return 2;
    }
    puts("plain_test: ok");
    return 0;
}
