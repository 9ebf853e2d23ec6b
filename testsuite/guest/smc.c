/*
 * Code that changes after it ran: the translator must notice writes to guest code it has already
 * translated. argv[1] selects the case:
 *   rwx        an RWX page: write "mov $N, %eax; ret", call it, patch N, call again (many times);
 *   wx         the W^X pattern of JITs: RW to write, mprotect RX to run, back to RW to patch;
 *   same-block code that patches an instruction later in its own block before reaching it;
 *   alias      one memfd mapped twice, RW and RX: writes through the RW view change the RX code;
 *   alias-threads  the same with one thread writing through the RW view and another calling the code.
 * Each case prints the values the generated code returned.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(void);

/* b8 imm32: mov $imm, %eax; c3: ret */
static void emit_ret_const(uint8_t *p, int32_t v)
{
    p[0] = 0xb8;
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
}

static int case_rwx(void)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    fn_t f = (fn_t)page;
    long sum = 0;
    for (int i = 0; i < 200; i++) {
        emit_ret_const(page, i * 3 + 1);
        sum += f();
        sum += f(); /* twice: the second call may come from a cached translation */
    }
    printf("rwx: 200 patches, sum %ld\n", sum);
    /* Patch a function at another offset in the same page while the first stays valid. */
    emit_ret_const(page + 64, 500);
    printf("rwx: first %d, second %d\n", f(), ((fn_t)(page + 64))());
    emit_ret_const(page + 64, 600);
    printf("rwx: first %d, second %d\n", f(), ((fn_t)(page + 64))());
    return 0;
}

static int case_wx(void)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    fn_t f = (fn_t)page;
    for (int round = 0; round < 5; round++) {
        emit_ret_const(page, 1000 + round);
        if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0)
            return 1;
        printf("wx round %d: %d\n", round, f());
        if (mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0)
            return 1;
    }
    return 0;
}

/*
 *   movl $0xNN, patch+1(%rip)   ; c7 05 rel32 imm32   (overwrites the imm32 of the next mov)
 *   patch: mov $0, %eax         ; b8 00 00 00 00
 *   ret
 */
static int case_same_block(void)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    for (int v = 1; v <= 3; v++) {
        uint8_t *p = page;
        int32_t imm = 0x100 * v, rel = 0; /* rel32 from the end of the movl (10 bytes) to patch+1 */
        p[0] = 0xc7;
        p[1] = 0x05;
        rel = 1; /* patch starts right after the 10-byte movl; its imm32 is one byte further */
        memcpy(p + 2, &rel, 4);
        memcpy(p + 6, &imm, 4);
        emit_ret_const(p + 10, 0);
        printf("same-block %d: returned %#x\n", v, ((fn_t)page)());
    }
    return 0;
}

static int case_alias(void)
{
    int fd = memfd_create("smc-alias", 0);
    if (fd < 0 || ftruncate(fd, 8192) != 0)
        return 1;
    uint8_t *rw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *rx = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED || rx == MAP_FAILED)
        return 1;
    fn_t f = (fn_t)rx;
    for (int i = 0; i < 5; i++) {
        emit_ret_const(rw, 7000 + i);
        printf("alias %d: %d\n", i, f());
    }
    /* A second function on the same page, patched while the first keeps its code. */
    emit_ret_const(rw + 64, 7100);
    printf("alias: first %d, second %d\n", f(), ((fn_t)(rx + 64))());
    emit_ret_const(rw + 64, 7101);
    printf("alias: first %d, second %d\n", f(), ((fn_t)(rx + 64))());
    /* The system call writes through the writable view (the emulator's own write, not the guest's). */
    int pipe_fds[2];
    uint8_t code[6];
    emit_ret_const(code, 7200);
    if (pipe(pipe_fds) != 0 || write(pipe_fds[1], code, sizeof(code)) != (ssize_t)sizeof(code) ||
        read(pipe_fds[0], rw, sizeof(code)) != (ssize_t)sizeof(code))
        return 1;
    printf("alias after read(2): %d\n", f());
    /* A writable view mapped after the code ran, at another offset's page too. */
    emit_ret_const(rw + 4096, 7300);
    fn_t g = (fn_t)(rx + 4096);
    printf("alias second page: %d\n", g());
    if (munmap(rw, 8192) != 0)
        return 1;
    uint8_t *rw2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
    if (rw2 == MAP_FAILED)
        return 1;
    emit_ret_const(rw2, 7301);
    printf("alias through a new view: %d, first page %d\n", g(), f());
    return 0;
}

static uint8_t *mt_rw, *mt_rx;
static atomic_int mt_written, mt_called;
#define MT_ROUNDS 5000

/* Calls the function the other thread just wrote (one of eight on the page, in turn). */
static void *alias_caller(void *arg)
{
    long wrong = 0;
    (void)arg;
    for (int i = 1; i <= MT_ROUNDS; i++) {
        while (atomic_load(&mt_written) != i) {
            sched_yield();   /* also on one free core: the other thread runs at once */
        }
        wrong += ((fn_t)(mt_rx + (i % 8) * 512))() != i;
        atomic_store(&mt_called, i);
    }
    return (void *)wrong;
}

static int case_alias_threads(void)
{
    int fd = memfd_create("smc-alias-threads", 0);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 1;
    mt_rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    mt_rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    pthread_t t;
    if (mt_rw == MAP_FAILED || mt_rx == MAP_FAILED || pthread_create(&t, NULL, alias_caller, NULL) != 0)
        return 1;
    for (int i = 1; i <= MT_ROUNDS; i++) {
        emit_ret_const(mt_rw + (i % 8) * 512, i);
        atomic_store(&mt_written, i);
        while (atomic_load(&mt_called) != i) {
            sched_yield();
        }
    }
    void *wrong;
    if (pthread_join(t, &wrong) != 0)
        return 1;
    printf("alias-threads: %d rounds, %ld wrong values\n", MT_ROUNDS, (long)wrong);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    int r = 2;
    if (strcmp(c, "rwx") == 0)
        r = case_rwx();
    else if (strcmp(c, "wx") == 0)
        r = case_wx();
    else if (strcmp(c, "same-block") == 0)
        r = case_same_block();
    else if (strcmp(c, "alias") == 0)
        r = case_alias();
    else if (strcmp(c, "alias-threads") == 0)
        r = case_alias_threads();
    else
        fprintf(stderr, "usage: smc rwx|wx|same-block|alias|alias-threads\n");
    if (r == 1)
        perror("smc");
    return r;
}
