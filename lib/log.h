/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The daemon's log: to the journal with structured fields when systemd connected stderr to it
 * (JOURNAL_STREAM names stderr's device and inode), to stderr as one line otherwise.
 * Only the daemon logs (library code returns errors): these functions are its edge.
 *
 * Structured fields natgwd sets, besides MESSAGE, PRIORITY and SYSLOG_IDENTIFIER:
 *   NATGW_EVENT=start|apply|reload|reload-rejected|stop|...  what happened
 *   NATGW_CONFIG=path, NATGW_GENERATION=n                    the config concerned
 *   NATGW_FILE=, NATGW_LINE=, NATGW_ENTRY=                   where an error points
 *   plus what a caller passes ("NATGW_CT_DELETED=3", ...).
 */

#include <syslog.h>

#include "diag.h"

/* Decide the target (journal or stderr) and the most verbose priority logged (LOG_INFO...). */
void natgw_log_open(const char *ident, int max_priority);

/*
 * Log @fmt at @prio with extra structured fields: @fields is a NULL-terminated list of
 * "KEY=value" strings (may be NULL). On stderr the fields are not shown.
 */
void natgw_log_fields(int prio, const char *const *fields, const char *fmt, ...) _printf_(3, 4);

#define natgw_log(prio, ...) natgw_log_fields((prio), NULL, __VA_ARGS__)

/* Log each error as its own message, `prefix` + `FILE:LINE: entry "NAME": message`, with
 * NATGW_FILE/NATGW_LINE/NATGW_ENTRY and NATGW_EVENT=@event; at @prio, warnings at LOG_WARNING
 * when @prio is more severe. */
void natgw_log_errors(int prio, const char *event, const char *prefix, const struct natgw_errors *errors);
