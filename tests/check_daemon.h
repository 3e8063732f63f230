/*
 * check_daemon.h — the Check suites' daemon fixture: a real tensord process
 * (TENSORD_BIN, normally build/asan/tensord) on a private unix socket, started per test
 * and stopped with SIGTERM, whose clean exit also proves LSan found no leak.
 * Header-only: each suite is one translation unit.
 */
#ifndef TD_CHECK_DAEMON_H
#define TD_CHECK_DAEMON_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir_path[64];
static char sock_path[128];
static char target[160];
static pid_t daemon_pid;
/* Extra arguments for the daemon (NULL-terminated), set before daemon_start. */
static const char *daemon_extra_args[8];

/* ---- fixture: one daemon per test */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void daemon_start(void)
{
    const char *bin = getenv("TENSORD_BIN");
    ck_assert_msg(bin && *bin, "set TENSORD_BIN to the tensord binary (make check does)");
    snprintf(dir_path, sizeof dir_path, "/tmp/tdrpc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir_path));
    snprintf(sock_path, sizeof sock_path, "%s/tensord.sock", dir_path);
    snprintf(target, sizeof target, "unix:%s", sock_path);

    daemon_pid = fork();
    ck_assert_int_ge(daemon_pid, 0);
    if (daemon_pid == 0) {
        const char *argv[16] = {bin, "--listen", target, "--log-level", "warn", "--threads", "1"};
        for (int i = 0, n = 7; i < 8 && daemon_extra_args[i]; i++)
            argv[n++] = daemon_extra_args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* gRPC creates the socket file when it binds: wait for it (ASan start-up is slow). */
    struct stat sb;
    double t0 = now_s();
    while (stat(sock_path, &sb) != 0) {
        int status;
        ck_assert_msg(waitpid(daemon_pid, &status, WNOHANG) == 0, "tensord exited at start-up");
        ck_assert_msg(now_s() - t0 < 30, "tensord did not bind %s", sock_path);
        usleep(10000);
    }
}

/* Waits for the daemon to exit; returns its wait status, or -1 after timeout_s. */
static int daemon_wait(double timeout_s)
{
    double t0 = now_s();
    int status;
    while (now_s() - t0 < timeout_s) {
        pid_t p = waitpid(daemon_pid, &status, WNOHANG);
        if (p == daemon_pid) {
            daemon_pid = 0;
            return status;
        }
        usleep(10000);
    }
    return -1;
}

/* Every test ends with a clean shutdown: exit status 0 also means no leak (LSan). */
static void daemon_stop(void)
{
    int status = 0;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        status = daemon_wait(30);
        if (status == -1) {
            kill(daemon_pid, SIGKILL);
            waitpid(daemon_pid, NULL, 0);
            daemon_pid = 0;
        }
    }
    unlink(sock_path);
    rmdir(dir_path);
    ck_assert_msg(status != -1, "tensord did not exit within 30 s of SIGTERM");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "tensord shut down with wait status 0x%x (non-zero: LSan found leaks)", status);
}

#endif
