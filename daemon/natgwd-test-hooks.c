/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hooks for tests, compiled in only with -Dtest_hooks=true (never in a release or a package
 * build): ways to make natgwd misbehave on purpose that no input can produce.
 *
 * SIGUSR2: natgwd hangs in its event loop, as if a reload or the kernel never came back: no
 * more WATCHDOG=1, no more answers, and SIGTERM, handled by the loop, goes unheard. systemd's
 * watchdog must then kill and restart it (tests/lab/lab-nspawn-watchdog.sh).
 */

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "natgwd.h"

static int on_hang(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        natgw_log(LOG_WARNING, "SIGUSR2 (test hook): hanging in the event loop for good");
        for (;;)
                (void)pause();
        return 0;
}

int natgwd_test_hooks_add(sd_event *event) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        return sd_event_add_signal(event, NULL, SIGUSR2, on_hang, NULL);
}
