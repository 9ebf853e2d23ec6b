/*
 * Processes: fork with exit codes and signals seen through waitpid, a pipe between parent and
 * child, vfork + execve of /bin/true, execve of another guest program (hello_MODE next to this
 * binary, MODE taken from our own name), execve of /bin/echo through a pipe, system() through
 * /bin/sh, a failed execve (ENOENT) and the parent's view of a child's exit_group from a thread-free
 * child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* An unmapped address the compiler cannot see through. */
static volatile unsigned long bad_addr = 16;

extern char **environ;

#include "testsuite/guest/check.h"

static volatile sig_atomic_t sigchld_count;
static void on_sigchld(int sig)
{
    (void)sig;
    sigchld_count++;
}

static void describe(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%-32s exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%-32s killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
    else
        printf("%-32s status %#x\n", what, status);
}

/* Runs ARGV[0] in a child with stdout on a pipe; prints what it wrote and how it ended. */
static void run_captured(const char *what, char *const argv[], int use_vfork)
{
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t pid = use_vfork ? vfork() : fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execve(argv[0], argv, environ);
        _exit(127);
    }
    close(p[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    close(p[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    describe(what, status);
    printf("  output: %s", n ? buf : "(none)\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t self = getpid();

    /* fork: the child has its own copy of memory and its own pid. */
    int shared = 1;
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        shared = 2;
        _exit(getppid() == self && getpid() != self ? 3 : 99);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    describe("fork child _exit(3)", status);
    printf("  parent's copy after child wrote: %d\n", shared);

    /* Exit codes wrap at 8 bits; exit() runs stdio flush in the child. */
    pid = fork();
    if (pid == 0)
        exit(256 + 7);
    waitpid(pid, &status, 0);
    describe("child exit(263)", status);

    /* Children killed by signals. */
    pid = fork();
    if (pid == 0) {
        abort();
    }
    waitpid(pid, &status, 0);
    describe("child abort()", status);
    pid = fork();
    if (pid == 0) {
        *(volatile int *)bad_addr = 1;
        _exit(0);
    }
    waitpid(pid, &status, 0);
    describe("child NULL write", status);
    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    describe("child SIGTERM from parent", status);

    /* wait() with several children: collect all exit codes. */
    int codes = 0;
    for (int i = 1; i <= 5; i++) {
        if (fork() == 0)
            _exit(i * 10);
    }
    for (int i = 0; i < 5; i++) {
        CHECK(wait(&status) > 0);
        codes += WEXITSTATUS(status);
    }
    errno = 0;
    CHECK(wait(&status) == -1 && errno == ECHILD);
    printf("five children, exit codes sum %d, then ECHILD\n", codes);

    /* WNOHANG before the child is done. */
    int go[2];
    CHECK(pipe(go) == 0);
    pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        (void)read(go[0], &c, 1);
        _exit(5);
    }
    close(go[0]);
    printf("WNOHANG on a running child: %d\n", waitpid(pid, &status, WNOHANG));
    close(go[1]);
    waitpid(pid, &status, 0);
    describe("child released by pipe close", status);

    /* execve of programs, through fork and vfork. */
    char *true_argv[] = {"/bin/true", NULL};
    run_captured("vfork + execve /bin/true", true_argv, 1);
    char *echo_argv[] = {"/bin/echo", "echo", "via", "execve", NULL};
    run_captured("fork + execve /bin/echo", echo_argv, 0);

    /* Our sibling hello_MODE (same link mode as this program). */
    char hello[PATH_MAX];
    const char *mode = strstr(argv[0], "forkexec_");
    CHECK(mode != NULL);
    snprintf(hello, sizeof hello, "%.*shello_%s", (int)(mode - argv[0]), argv[0], mode + strlen("forkexec_"));
    char *hello_argv[] = {hello, NULL};
    run_captured("vfork + execve hello", hello_argv, 1);
    run_captured("fork + execve hello", hello_argv, 0);

    char *missing_argv[] = {"/nonexistent/program", NULL};
    run_captured("execve of a missing file", missing_argv, 0);
    errno = 0;
    CHECK(execve("/nonexistent/program", missing_argv, environ) == -1 && errno == ENOENT);
    printf("execve missing file in the parent: ENOENT, still running\n");

    /* A "#!" script: execve runs its interpreter with the script's path and our argument. */
    FILE *script = fopen("forkexec-script.sh", "w");
    CHECK(script != NULL);
    fprintf(script, "#!/bin/sh -e\necho \"script got $# argument(s): $1\"\nexit 6\n");
    fclose(script);
    CHECK(chmod("forkexec-script.sh", 0755) == 0);
    char script_path[PATH_MAX];
    CHECK(realpath("forkexec-script.sh", script_path) != NULL);
    char *script_argv[] = {script_path, "arg-one", NULL};
    run_captured("fork + execve of a #! script", script_argv, 0);
    unlink("forkexec-script.sh");

    /* SIGCHLD arrives for each child that ends. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    for (int i = 0; i < 3; i++) {
        pid = fork();
        if (pid == 0)
            _exit(0);
        CHECK(waitpid(pid, &status, 0) == pid);
    }
    printf("SIGCHLD handler ran for each of 3 children: %d\n", sigchld_count == 3);
    signal(SIGCHLD, SIG_DFL);

    /* system() runs /bin/sh -c. */
    status = system("echo from sh; exit 5");
    describe("system(\"...; exit 5\")", status);
    return 0;
}
