/*
 * Descriptors beyond plain files, whose system calls carry structures: socketpair with send/recv,
 * sendmsg/recvmsg passing a descriptor (SCM_RIGHTS), a Unix stream socket bound in the working
 * directory, poll, select, epoll (struct epoll_event is packed on x86-64), eventfd, timerfd,
 * readv/writev, pipe2 with O_NONBLOCK (EAGAIN), and dup3/O_CLOEXEC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsuite/guest/check.h"

static void test_socketpair(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(send(sv[0], "ping", 4, 0) == 4);
    char buf[64] = {0};
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 4);
    printf("socketpair: %s\n", buf);

    /* writev on one end, readv on the other, split differently */
    struct iovec out[3] = {{"abc", 3}, {"defgh", 5}, {"ij", 2}};
    CHECK(writev(sv[0], out, 3) == 10);
    char a[4] = {0}, b[7] = {0};
    struct iovec in[2] = {{a, 3}, {b, 7}};
    CHECK(readv(sv[1], in, 2) == 10);
    printf("writev/readv: %s|%s\n", a, b);

    /* pass a pipe's read end through the socket; read through the received copy */
    int p[2];
    CHECK(pipe(p) == 0);
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"fd", 2};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    CHECK(sendmsg(sv[0], &msg, 0) == 2);
    char rbuf[8] = {0};
    char rcbuf[CMSG_SPACE(sizeof(int))];
    struct iovec riov = {rbuf, sizeof rbuf};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rcbuf, .msg_controllen = sizeof rcbuf};
    CHECK(recvmsg(sv[1], &rmsg, 0) == 2);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    CHECK(rc && rc->cmsg_type == SCM_RIGHTS);
    int got;
    memcpy(&got, CMSG_DATA(rc), sizeof got);
    CHECK(got != p[0] && got >= 0);
    CHECK(write(p[1], "via passed fd", 13) == 13);
    char pbuf[32] = {0};
    CHECK(read(got, pbuf, sizeof pbuf) == 13);
    printf("SCM_RIGHTS: %s\n", pbuf);
    close(got);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_unix_socket(void)
{
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(srv >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "io-test.sock");
    CHECK(bind(srv, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(srv, 1) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0)
            _exit(1);
        char buf[32] = {0};
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0)
            _exit(2);
        for (ssize_t i = 0; i < n; i++)
            buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
        if (write(c, buf, n) != n)
            _exit(3);
        _exit(0);
    }
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    int conn = accept(srv, (struct sockaddr *)&peer, &plen);
    CHECK(conn >= 0);
    CHECK(write(conn, "hello socket", 12) == 12);
    char buf[32] = {0};
    CHECK(read(conn, buf, sizeof buf) == 12);
    int status;
    waitpid(pid, &status, 0);
    printf("unix socket echo: %s, child exit %d, peer family %d\n", buf, WEXITSTATUS(status), peer.sun_family);
    struct sockaddr_un me;
    socklen_t mlen = sizeof me;
    CHECK(getsockname(srv, (struct sockaddr *)&me, &mlen) == 0);
    printf("getsockname: %s\n", me.sun_path);
    int type;
    socklen_t tlen = sizeof type;
    CHECK(getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM);
    close(conn);
    close(srv);
    unlink("io-test.sock");
}

static void test_poll_select_epoll(void)
{
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    char c;
    errno = 0;
    CHECK(read(p[0], &c, 1) == -1 && errno == EAGAIN);
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    int n = poll(pf, 2, 0);
    printf("poll empty pipe: %d ready, read end %#x, write end %#x\n", n, pf[0].revents, pf[1].revents);
    CHECK(write(p[1], "x", 1) == 1);
    n = poll(pf, 1, 1000);
    printf("poll after write: %d ready, revents %#x\n", n, pf[0].revents);

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {1, 0};
    n = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select: %d ready, isset %d\n", n, FD_ISSET(p[0], &rs) != 0);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    CHECK(efd >= 0);
    struct epoll_event ev2 = {.events = EPOLLIN, .data.u64 = 42};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev2) == 0);
    uint64_t one = 5;
    CHECK(write(efd, &one, 8) == 8);
    struct epoll_event out[4];
    memset(out, 0, sizeof out);
    n = epoll_wait(ep, out, 4, 1000);
    uint64_t tags = 0;
    for (int i = 0; i < n; i++)
        tags ^= out[i].data.u64 + out[i].events;
    printf("epoll_wait: %d events, tag checksum %#llx\n", n, (unsigned long long)tags);
    uint64_t val;
    CHECK(read(efd, &val, 8) == 8);
    printf("eventfd counter %llu\n", (unsigned long long)val);
    CHECK(read(p[0], &c, 1) == 1);
    n = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait after draining: %d\n", n);

    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(tfd >= 0);
    struct itimerspec its = {.it_value = {0, 10 * 1000 * 1000}};
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    uint64_t expirations;
    CHECK(read(tfd, &expirations, 8) == 8);
    printf("timerfd expired %llu time(s)\n", (unsigned long long)expirations);

    int d = dup3(p[0], 50, O_CLOEXEC);
    CHECK(d == 50 && fcntl(d, F_GETFD) == FD_CLOEXEC);
    close(d);
    close(tfd);
    close(efd);
    close(ep);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_socketpair();
    test_unix_socket();
    test_poll_select_epoll();
    return 0;
}
