/*
 * Built twice with a different VARIANT (tb_variant_a, tb_variant_b): the same size and layout, a different
 * constant in the code. The translation-cache test swaps one for the other under the same file identity:
 * kept translations of the first must not run for the second.
 */
#include <stdio.h>

__attribute__((noinline)) static long step(long x)
{
    return x * VARIANT + 1;
}

int main(void)
{
    long sum = 0;
    for (long i = 0; i < 100000; i++) {
        sum += step(i);
    }
    printf("variant %d: %ld\n", VARIANT, sum);
    return 0;
}
