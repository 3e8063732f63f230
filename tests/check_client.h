/*
 * check_client.h — the fixture of Check suites that drive libtensord against a real
 * daemon: check_daemon.h's daemon per test (daemon_extra_args set before it starts) and
 * one connected client `c`; OK(call) asserts a libtensord call succeeded, with its
 * message.  Header-only, like check_daemon.h.
 */
#ifndef TD_CHECK_CLIENT_H
#define TD_CHECK_CLIENT_H

#include "check_daemon.h"
#include "tensord.h"

static td_client_t *c;

static void client_setup(void)
{
    daemon_start();
    struct td_status st = TD_STATUS_INIT;
    c = td_client_connect(target, 20000, &st);
    ck_assert_msg(c != NULL, "connect: %s", st.msg);
}

static void client_teardown(void)
{
    td_client_free(c);
    c = NULL;
    daemon_stop();
}

/* call (which may name `st`, a struct td_status *) must succeed */
#define OK(call)                                                                                                       \
    do {                                                                                                               \
        struct td_status st_ = TD_STATUS_INIT;                                                                         \
        struct td_status *st = &st_;                                                                                   \
        enum td_code code_ = (call);                                                                                   \
        ck_assert_msg(code_ == TD_CODE_OK, "%s: %s", #call, st_.msg);                                                  \
    } while (0)

#endif
