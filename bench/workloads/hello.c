/* The start-up workload: a static hello-world, run many times in a row by bench/run, so that what is
 * timed is loading, translating the first blocks and exiting rather than any work. */
#include <stdio.h>

int main(void)
{
    puts("hello, world");
    return 0;
}
