/* bench-timer: runs one command COUNT times in a row and prints the wall time of the whole series and
 * the peak resident set size of the largest run, so that bench/run needs neither GNU time nor a
 * floating-point-capable shell.
 *
 *   bench-timer [-n COUNT] [-i INPUT] [-o OUTPUT] [-t SECONDS] -- PROGRAM [ARGS...]
 *
 * stdin comes from INPUT (default /dev/null) and is reopened for every run; stdout of all runs goes to
 * OUTPUT (truncated once, default /dev/null); stderr is inherited. Prints one line on stdout:
 *
 *   WALL_SECONDS PEAK_RSS_KB STATUS
 *
 * STATUS is the exit code of the first run that did not exit 0 (0 when all did), 128+N for a run killed
 * by signal N, or "timeout" when the series ran past SECONDS (the run's process group is killed).
 * The exit code of bench-timer itself is 0 when it could measure, 2 on a usage or system error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct TimerArgs {
    long count;
    const char *input;
    const char *output;
    double timeout;     /* seconds for the whole series; 0 = none */
    char **argv;
} TimerArgs;

static double timer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int timer_usage(void)
{
    fprintf(stderr, "usage: bench-timer [-n COUNT] [-i INPUT] [-o OUTPUT] [-t SECONDS] -- PROGRAM [ARGS...]\n");
    return 2;
}

static int timer_parse(int argc, char **argv, TimerArgs *a)
{
    int c;
    a->count = 1;
    a->input = "/dev/null";
    a->output = "/dev/null";
    a->timeout = 0;
    while ((c = getopt(argc, argv, "+n:i:o:t:")) != -1) {
        switch (c) {
        case 'n': a->count = strtol(optarg, NULL, 10); break;
        case 'i': a->input = optarg; break;
        case 'o': a->output = optarg; break;
        case 't': a->timeout = strtod(optarg, NULL); break;
        default: return -1;
        }
    }
    if (optind >= argc || a->count < 1) {
        return -1;
    }
    a->argv = argv + optind;
    return 0;
}

/* Child side of one run: own process group (so a timeout can kill helpers and threads alike), the
 * given stdin, stdout appended to the shared output file. */
static void timer_exec_child(const TimerArgs *a, int out_fd)
{
    int in_fd = open(a->input, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0 || dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0) {
        perror("bench-timer: redirect");
        _exit(127);
    }
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(a->argv[0], a->argv);
    fprintf(stderr, "bench-timer: %s: %s\n", a->argv[0], strerror(errno));
    _exit(127);
}

/* Wait for PID until DEADLINE (0 = forever). Returns the wait status, or -1 after a timeout (the
 * child's group has then been killed and reaped). RSS_KB gets the child's peak RSS. SIGCHLD is blocked
 * by main, so sigtimedwait wakes the moment the child ends: no polling delay lands in the timing. */
static int timer_wait(pid_t pid, double deadline, long *rss_kb)
{
    struct rusage ru;
    int status;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t r = wait4(pid, &status, deadline > 0 ? WNOHANG : 0, &ru);
        if (r == pid) {
            *rss_kb = ru.ru_maxrss;
            return status;
        }
        if (r < 0 && errno != EINTR) {
            perror("bench-timer: wait4");
            return -2;
        }
        if (r != 0) {
            continue;
        }
        double left = deadline - timer_now();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            wait4(pid, &status, 0, &ru);
            return -1;
        }
        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
        sigtimedwait(&chld, NULL, &ts);
    }
}

int main(int argc, char **argv)
{
    TimerArgs a;
    if (timer_parse(argc, argv, &a) < 0) {
        return timer_usage();
    }
    int out_fd = open(a.output, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        fprintf(stderr, "bench-timer: %s: %s\n", a.output, strerror(errno));
        return 2;
    }
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    double start = timer_now();
    double deadline = a.timeout > 0 ? start + a.timeout : 0;
    long peak_kb = 0;
    char status_text[32] = "0";
    for (long i = 0; i < a.count; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench-timer: fork");
            return 2;
        }
        if (pid == 0) {
            timer_exec_child(&a, out_fd);
        }
        long rss_kb = 0;
        int st = timer_wait(pid, deadline, &rss_kb);
        if (st == -2) {
            return 2;
        }
        if (st == -1) {
            snprintf(status_text, sizeof(status_text), "timeout");
            break;
        }
        if (rss_kb > peak_kb) {
            peak_kb = rss_kb;
        }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code != 0) {
            snprintf(status_text, sizeof(status_text), "%d", code);
            break;
        }
    }
    double wall = timer_now() - start;
    close(out_fd);
    printf("%.6f %ld %s\n", wall, peak_kb, status_text);
    return 0;
}
