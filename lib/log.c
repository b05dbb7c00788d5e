/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"

#define FIELDS_MAX 16

static const char *log_ident = "natgwd";
static int log_max = LOG_INFO;
static bool log_journal;

/* JOURNAL_STREAM is "DEV:INO", both decimal; anything else is not systemd's. */
static bool parse_journal_stream(const char *e, unsigned long long *ret_dev, unsigned long long *ret_ino) {
        char *end;

        errno = 0;
        *ret_dev = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != ':')
                return false;
        e = end + 1;
        *ret_ino = strtoull(e, &end, 10);
        return errno == 0 && end != e && *end == '\0';
}

void natgw_log_open(const char *ident, int max_priority) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        log_ident = ident;
        log_max = max_priority;
        /* systemd sets JOURNAL_STREAM to stderr's dev:ino; a redirected stderr no longer matches. */
        log_journal = e && parse_journal_stream(e, &dev, &ino) && fstat(STDERR_FILENO, &st) == 0 &&
                      st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

static const char *prio_prefix(int prio) {
        if (prio <= LOG_ERR)
                return "error: ";
        if (prio == LOG_WARNING)
                return "warning: ";
        return "";
}

static void log_message(int prio, const char *const *fields, const char *msg) {
        struct iovec iov[FIELDS_MAX + 3];
        char p[16], id[64];
        _cleanup_(freep) char *m = NULL;
        size_t n = 0;

        if (log_journal) {
                if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                        return;
                snprintf(p, sizeof(p), "PRIORITY=%d", prio);
                snprintf(id, sizeof(id), "SYSLOG_IDENTIFIER=%s", log_ident);
                iov[n++] = (struct iovec){ m, strlen(m) };
                iov[n++] = (struct iovec){ p, strlen(p) };
                iov[n++] = (struct iovec){ id, strlen(id) };
                for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                        iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
                if (sd_journal_sendv(iov, (int)n) >= 0)
                        return;
                /* The journal went away: the line is not lost, it goes to the stream. */
        }
        fprintf(stderr, "%s: %s%s\n", log_ident, prio_prefix(prio), msg);
}

void natgw_log_fields(int prio, const char *const *fields, const char *fmt, ...) {
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        if (prio > log_max)
                return;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        log_message(prio, fields, msg);
}

void natgw_log_errors(int prio, const char *event, const char *prefix, const struct natgw_errors *errors) {
        for (size_t i = 0; i < errors->n; i++) {
                const struct natgw_error *e = &errors->v[i];
                _cleanup_(freep) char *text = natgw_error_format(e), *ev = NULL, *file = NULL, *line = NULL,
                                      *entry = NULL;
                const char *fields[5] = {};
                size_t k = 0;

                if (asprintf(&ev, "NATGW_EVENT=%s", event) >= 0)
                        fields[k++] = ev;
                if (e->file && asprintf(&file, "NATGW_FILE=%s", e->file) >= 0)
                        fields[k++] = file;
                if (e->line && asprintf(&line, "NATGW_LINE=%u", e->line) >= 0)
                        fields[k++] = line;
                if (e->entry && asprintf(&entry, "NATGW_ENTRY=%s", e->entry) >= 0)
                        fields[k++] = entry;
                /* A warning among errors is still only a warning. */
                natgw_log_fields(e->severity == NATGW_SEVERITY_WARNING ? MAX(prio, LOG_WARNING) : prio, fields,
                                 "%s%s", prefix, text ? text : e->message);
        }
}
