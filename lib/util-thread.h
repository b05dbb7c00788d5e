/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* natgwd's worker threads (the slice parsers, the batch's populator, the state's finisher). */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

/*
 * Start @fn(@arg) in a thread of its own with every signal blocked: signals are the main
 * thread's to take (sd-event reads them from a signalfd, which works only while they are blocked
 * in every thread). true when the thread runs.
 */
static inline bool natgw_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg) {
        sigset_t all, was;
        int e;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &was);
        e = pthread_create(tid, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &was, NULL);
        return e == 0;
}
