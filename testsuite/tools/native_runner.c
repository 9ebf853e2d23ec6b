/*
 * native_runner PROGRAM [ARGS...]: executes PROGRAM directly with the same argv and environment.
 * A stand-in for ember-x86_64 that lets the test suite check itself: with it in place of ember
 * (EMBER in testsuite/defs.bzl), every comparison runs the guest natively twice, so any test that is
 * not deterministic on its own fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: native_runner PROGRAM [ARGS...]\n");
        return 2;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "native_runner: unknown option '%s'\n", argv[1]);
        return 2;
    }
    execv(argv[1], argv + 1);
    fprintf(stderr, "native_runner: %s: %s\n", argv[1], strerror(errno));
    return 1;
}
