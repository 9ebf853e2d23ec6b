/*
 * Run by ember_x86_64_test (//:defs.bzl) targets: checks that the rule passed the arguments and the
 * environment through and that the test's directories work under ember. Usage:
 *   rule_check EXPECTED-STATUS ARG... : exits with EXPECTED-STATUS when argv[2..] are the words "one" and
 *   "two words", RULE_CHECK_VAR is "from env", and TEST_TMPDIR / TEST_UNDECLARED_OUTPUTS_DIR (when set)
 *   can be written; with any mismatch it exits 100 after saying what was wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_in(const char *var, const char *file)
{
    const char *dir = getenv(var);
    if (!dir) {
        return 0;   /* not under bazel test */
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "written under ember\n") < 0 || fclose(f) != 0) {
        fprintf(stderr, "rule_check: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc != 4 || strcmp(argv[2], "one") != 0 || strcmp(argv[3], "two words") != 0) {
        fprintf(stderr, "rule_check: wrong arguments (argc %d)\n", argc);
        bad = 1;
    }
    const char *v = getenv("RULE_CHECK_VAR");
    if (!v || strcmp(v, "from env") != 0) {
        fprintf(stderr, "rule_check: RULE_CHECK_VAR is %s\n", v ? v : "unset");
        bad = 1;
    }
    bad |= write_in("TEST_TMPDIR", "rule_check.txt");
    bad |= write_in("TEST_UNDECLARED_OUTPUTS_DIR", "rule_check.txt");
    printf("rule_check: %s\n", bad ? "mismatch" : "ok");
    return bad ? 100 : atoi(argc > 1 ? argv[1] : "0");
}
