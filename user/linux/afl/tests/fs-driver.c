/*
 * A minimal afl-fuzz stand-in for tests: creates the coverage map, starts `cmd` with the fork server fds,
 * checks the hello, runs it `runs` times and prints, per run, the wait status and the map's non-zero
 * entries:
 *
 *   fs-driver RUNS MAP_SIZE -- cmd args...
 *   -> "hello 0x...", then per run "run N status 0x... edges K hash H" and "idx:count ..." lines
 */
#include <fcntl.h>
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
    pid_t last = -1;
    for (int r = 0; r < runs; r++) {
        memset(map, 0, map_size);
        uint32_t killed = 0, pid, status;
        if (write(ctl[1], &killed, 4) != 4 || rd(st[0], &pid) < 0 || rd(st[0], &status) < 0) {
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
        printf("run %d status 0x%x edges %d hash %016llx\n", r, status, edges, (unsigned long long)hash);
        for (size_t i = 0; i < map_size; i++) {
            if (map[i]) {
                printf(" %zu:%u", i, map[i]);
            }
        }
        printf("\n");
        last = (pid_t)pid;
    }
    /* Closing the control pipe ends the server, which kills a stopped persistent child. */
    close(ctl[1]);
    waitpid(srv, NULL, 0);
    if (last > 0) {
        kill(last, SIGKILL);
    }
    return 0;
}
