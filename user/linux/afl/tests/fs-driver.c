/*
 * A minimal afl-fuzz stand-in for tests: creates the coverage map, starts `cmd` with the fork server fds,
 * checks the hello, runs it `runs` times and prints, per run, the wait status and the map's non-zero
 * entries:
 *
 *   fs-driver RUNS MAP_SIZE -- cmd args...
 *   -> "hello 0x...", then per run "run N status 0x... edges K hash H pid P" and "idx:count ..." lines
 *
 * Like afl-fuzz, it can also change the test case between runs and kill a run that takes too long:
 *   FS_DRIVER_CUR=path FS_DRIVER_INPUTS=f0:f1:...   before run N, copy fN (the last one after the list's
 *                                                  end) to path (the target's @@)
 *   FS_DRIVER_TIMEOUT_MS=T                         a run without a status after T ms: SIGKILL its pid, read
 *                                                  the status the fork server then writes, and tell it
 *                                                  "killed" with the next run's control word
 *   FS_DRIVER_KILL_AFTER=N                         after run N, SIGKILL its pid (a stopped persistent
 *                                                  child, killed between runs from outside)
 *   FS_DRIVER_SAY_KILLED=N                         run N's control word says "killed" without a kill
 *   FS_DRIVER_SHM=1                                offer test cases in shared memory, as afl-fuzz does
 *                                                  (__AFL_SHM_FUZZ_ID; __AFL_OUT_DIR is FS_DRIVER_CUR's
 *                                                  folder): if the hello asks for them, the test cases go
 *                                                  there instead of into FS_DRIVER_CUR
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static int rd(int fd, uint32_t *v)
{
    return read(fd, v, 4) == 4 ? 0 : -1;
}

#define FS_OPT_SHDMEM_FUZZ 0x01000000u
#define FS_OPT_ENABLED 0x80000001u

static uint8_t *shm_input;   /* a u32 length, then the bytes; NULL: test cases go into the file */

/* Put the test case for run r (FS_DRIVER_INPUTS) into FS_DRIVER_CUR, or into shared memory. */
static void set_input(int r)
{
    const char *list = getenv("FS_DRIVER_INPUTS"), *cur = getenv("FS_DRIVER_CUR");
    if (!list || !cur) {
        return;
    }
    char name[4096];
    const char *p = list;
    for (int i = 0;; i++) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (i == r || !e) {
            snprintf(name, sizeof(name), "%.*s", (int)n, p);
            break;
        }
        p = e + 1;
    }
    char data[4096];
    int in = open(name, O_RDONLY);
    ssize_t n = in >= 0 ? read(in, data, sizeof(data)) : -1;
    if (shm_input && n >= 0) {
        memcpy(shm_input + 4, data, (size_t)n);
        *(uint32_t *)shm_input = (uint32_t)n;
        close(in);
        return;
    }
    int out = open(cur, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (n < 0 || out < 0 || write(out, data, (size_t)n) != n) {
        fprintf(stderr, "fs-driver: cannot copy %s to %s\n", name, cur);
        exit(2);
    }
    close(in);
    close(out);
}

/* Wait up to ms (negative: for ever) for fd to be readable. */
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: fs-driver RUNS MAP_SIZE -- cmd args...\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    size_t map_size = strtoul(argv[2], NULL, 0);
    int shm = shmget(IPC_PRIVATE, map_size, IPC_CREAT | 0600);
    if (shm < 0) {
        perror("shmget");
        return 2;
    }
    uint8_t *map = shmat(shm, NULL, 0);
    shmctl(shm, IPC_RMID, NULL);   /* gone once both sides detach */
    char id[32];
    snprintf(id, sizeof(id), "%d", shm);
    setenv("__AFL_SHM_ID", id, 1);
    uint8_t *input_mem = NULL;
    if (getenv("FS_DRIVER_SHM") && getenv("FS_DRIVER_CUR")) {
        int in_shm = shmget(IPC_PRIVATE, 4 + 4096, IPC_CREAT | 0600);
        input_mem = in_shm >= 0 ? shmat(in_shm, NULL, 0) : NULL;
        shmctl(in_shm, IPC_RMID, NULL);
        snprintf(id, sizeof(id), "%d", in_shm);
        setenv("__AFL_SHM_FUZZ_ID", id, 1);
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", getenv("FS_DRIVER_CUR"));
        *(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = '\0';
        setenv("__AFL_OUT_DIR", dir[0] ? dir : ".", 1);
    }
    int ctl[2], st[2];
    if (pipe(ctl) || pipe(st)) {
        return 2;
    }
    pid_t srv = fork();
    if (srv == 0) {
        dup2(ctl[0], 198);
        dup2(st[1], 199);
        close(ctl[0]), close(ctl[1]), close(st[0]), close(st[1]);
        /* The target's output is not ours (afl-fuzz also sends it to /dev/null). */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        close(null);
        execvp(argv[4], argv + 4);
        _exit(127);
    }
    close(ctl[0]);
    close(st[1]);
    uint32_t hello;
    if (rd(st[0], &hello) < 0) {
        printf("no hello\n");
        return 1;
    }
    printf("hello 0x%08x\n", hello);
    if ((hello & FS_OPT_SHDMEM_FUZZ) && (hello & FS_OPT_ENABLED) == FS_OPT_ENABLED) {
        uint32_t yes = FS_OPT_ENABLED | FS_OPT_SHDMEM_FUZZ;
        if (!input_mem || write(ctl[1], &yes, 4) != 4) {
            printf("shared-memory test cases asked for, none offered\n");
            return 1;
        }
        shm_input = input_mem;
    }
    pid_t last = -1;
    uint32_t killed = 0;
    int timeout_ms = getenv("FS_DRIVER_TIMEOUT_MS") ? atoi(getenv("FS_DRIVER_TIMEOUT_MS")) : -1;
    int kill_after = getenv("FS_DRIVER_KILL_AFTER") ? atoi(getenv("FS_DRIVER_KILL_AFTER")) : -1;
    int say_killed = getenv("FS_DRIVER_SAY_KILLED") ? atoi(getenv("FS_DRIVER_SAY_KILLED")) : -1;
    for (int r = 0; r < runs; r++) {
        set_input(r);
        memset(map, 0, map_size);
        uint32_t pid, status;
        if (r == say_killed) {
            killed = 1;
        }
        if (write(ctl[1], &killed, 4) != 4 || rd(st[0], &pid) < 0) {
            printf("server died\n");
            return 1;
        }
        killed = 0;
        if (!readable(st[0], timeout_ms)) {
            kill((pid_t)pid, SIGKILL);   /* as afl-fuzz does with a hang; the server then sends the status */
            killed = 1;
        }
        if (rd(st[0], &status) < 0) {
            printf("server died\n");
            return 1;
        }
        uint64_t hash = 1469598103934665603ULL;
        int edges = 0;
        for (size_t i = 0; i < map_size; i++) {
            if (map[i]) {
                edges++;
                hash = (hash ^ (i * 131 + map[i])) * 1099511628211ULL;
            }
        }
        printf("run %d status 0x%x edges %d hash %016llx pid %u\n", r, status, edges, (unsigned long long)hash,
               pid);
        for (size_t i = 0; i < map_size; i++) {
            if (map[i]) {
                printf(" %zu:%u", i, map[i]);
            }
        }
        printf("\n");
        fflush(stdout);
        last = (pid_t)pid;
        if (r == kill_after) {
            kill(last, SIGKILL);
            usleep(50000);   /* let it die before the next run, so the server sees it */
        }
    }
    /* Closing the control pipe ends the server, which kills a stopped persistent child. */
    close(ctl[1]);
    waitpid(srv, NULL, 0);
    if (last > 0) {
        kill(last, SIGKILL);
    }
    return 0;
}
