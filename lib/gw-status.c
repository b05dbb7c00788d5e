/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `status` (gw-json.h): the daemon's state. Apart from the rest of gw-json.c because only natgwd
 * answers it: it reads the conntrack watch, which is sd-event's, and natgwctl, which links what
 * gw-json.c has for `check` and `show`, starts 1.3 ms sooner without libsystemd.
 */
#include <unistd.h>

#include "ctl-proto.h"
#include "gw-json.h"
#include "sysctl.h"

#define NATGW_SYSCTL_CT_COUNT "net/netfilter/nf_conntrack_count"

static json_t *int_or_null(bool have, int64_t v) {
        return have ? json_integer((json_int_t)v) : json_null();
}

/* A sysctl as a number, or JSON null when it cannot be read. */
static json_t *sysctl_json(const char *key) {
        int64_t v = 0;

        return int_or_null(natgw_sysctl_read_int(key, &v) >= 0, v);
}

/* One managed setting: wanted (null: left as is), previous (null: natgwd did not change it),
 * actual (as the kernel has it now), and the outcome of the last apply. */
static json_t *setting_json(const struct natgw_setting *st, enum natgw_setting_id id) {
        const char *result = natgw_setting_result_to_string(st->result);
        char name[96], key[64], text[sizeof(st->reason) + 32];
        int64_t actual = 0;
        bool have_actual;

        if (st->result == NATGW_SETTING_REFUSED)
                snprintf(text, sizeof(text), "%s: %s", result, st->reason);
        else if (st->reason[0])
                snprintf(text, sizeof(text), "%s (%s)", result, st->reason);
        else
                snprintf(text, sizeof(text), "%s", result);
        /* Read now: "actual" is what the kernel has at this moment, whoever set it. */
        have_actual = natgw_sysctl_read_int(natgw_setting_path(id), &actual) >= 0;
        return json_pack("{s:s,s:s,s:o,s:o,s:o,s:s}", "key", natgw_setting_name(id, name, sizeof(name)), "config",
                         natgw_setting_config_key(id, key, sizeof(key)), "wanted",
                         int_or_null(st->wanted >= 0 && st->result != NATGW_SETTING_LEFT, st->wanted), "previous",
                         int_or_null(st->has_previous, st->previous), "actual", int_or_null(have_actual, actual),
                         "result", text);
}

static json_t *settings_json(const struct natgw_settings *settings) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        for (size_t i = 0; a && i < NATGW_SETTING_COUNT; i++)
                if (json_array_append_new(a, setting_json(&settings->v[i], (enum natgw_setting_id)i)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* The watch's view; without a watch, what the sysctls say. */
static json_t *conntrack_json(const struct natgw_ct_watch *watch) {
        json_t *count, *max, *pct = json_null();

        if (watch)
                return natgw_ct_watch_json(watch);
        count = sysctl_json(NATGW_SYSCTL_CT_COUNT);
        max = sysctl_json(NATGW_SYSCTL_CONNTRACK_MAX);
        if (json_is_integer(count) && json_is_integer(max) && json_integer_value(max) > 0)
                pct = json_real(100.0 * (double)json_integer_value(count) / (double)json_integer_value(max));
        return json_pack("{s:o,s:o,s:o}", "count", count, "max", max, "percent", pct);
}

static json_t *last_reload_json(const struct natgw_reload_record *r) {
        char t[32];

        if (!r || r->realtime_usec == 0)
                return json_null();
        return json_pack("{s:s,s:s,s:s,s:o*}", "time", natgw_format_time(r->realtime_usec, t, sizeof(t)),
                         "trigger", r->trigger ? r->trigger : "?", "result", r->ok ? "applied" : "rejected",
                         r->ok ? "warnings" : "errors", natgw_ctl_errors_to_json(&r->errors));
}

static json_t *control_json(const struct natgw_ctl_server_stats *s) {
        if (!s)
                return json_null();
        return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "accepted", (json_int_t)s->accepted, "handled",
                         (json_int_t)s->handled, "malformed", (json_int_t)s->malformed, "refused_busy",
                         (json_int_t)s->refused_busy, "refused_not_root", (json_int_t)s->refused_creds,
                         "timed_out", (json_int_t)s->timed_out, "accept_paused", (json_int_t)s->accept_paused);
}

/* Restores of the table after others changed it: whether natgwd watches, how often, the last. */
static json_t *restore_json(const struct natgw_restore_record *r) {
        char t[32], result[160];

        if (r->last_realtime_usec && r->last_error < 0)
                snprintf(result, sizeof(result), "failed: %s", strerror(-r->last_error));
        else
                snprintf(result, sizeof(result), "restored");
        return json_pack("{s:b,s:I,s:I,s:s?,s:s?,s:s?}", "watching", r->watching, "restored",
                         (json_int_t)r->restored, "failed", (json_int_t)r->failed, "last",
                         r->last_realtime_usec ? natgw_format_time(r->last_realtime_usec, t, sizeof(t)) : NULL,
                         "last_result", r->last_realtime_usec ? result : NULL, "last_cause",
                         r->last_realtime_usec && r->last_cause[0] ? r->last_cause : NULL);
}

json_t *natgw_ct_stale_json(const struct natgw_ct_stale_stats *st) {
        return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?,s:b,s:I,s:I,s:I}", "read", st->dumped, "seen",
                         (json_int_t)st->seen, "deleted", (json_int_t)st->deleted, "deleted_added",
                         (json_int_t)st->deleted_for[NATGW_CT_STALE_ADDED], "deleted_changed",
                         (json_int_t)st->deleted_for[NATGW_CT_STALE_CHANGED], "deleted_removed",
                         (json_int_t)st->deleted_for[NATGW_CT_STALE_REMOVED], "deleted_denied",
                         (json_int_t)st->deleted_for[NATGW_CT_STALE_DENIED], "kept_established",
                         (json_int_t)st->kept_established, "kept_entry", st->kept_entry[0] ? st->kept_entry : NULL,
                         "kept_entries_more", st->kept_entries_more, "vanished", (json_int_t)st->vanished, "failed", (json_int_t)st->failed, "usec",
                         (json_int_t)st->usec);
}

/* The files of the config in force: the main file, then the drop-ins in the order read. */
static json_t *files_json(const struct natgw_config *c) {
        json_t *a = json_array();
        char hex[NATGW_SHA256_HEX];

        for (size_t i = 0; a && c && i < c->n_files; i++)
                if (json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s}", "path", c->files[i].path, "role",
                                                       i == 0 ? "main" : "drop-in", "size",
                                                       (json_int_t)c->files[i].size, "sha256",
                                                       natgw_sha256_hex(c->files[i].sha256, hex))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

json_t *natgw_status_json(const struct natgw_gw *gw, const struct natgw_daemon_info *info) {
        const struct natgw_config *c = gw->config;
        const struct natgw_apply_stats *s = &gw->last_stats;
        _cleanup_(json_decrefp) json_t *j = NULL;
        char started[32];

        j = json_pack(
                "{s:b,s:s,s:I,s:s,s:s,s:s,s:s?,s:I,s:{s:I,s:I,s:I,s:I},s:{s:s,s:f,s:f,s:I,s:I,s:I},s:o,"
                "s:o,s:o}",
                "ok", 1, "version", info->version, "pid", (json_int_t)getpid(), "started",
                natgw_format_time(info->started_realtime_usec, started, sizeof(started)), "socket", info->socket,
                "on_exit", info->on_exit_remove ? "remove" : "keep", "config", c ? c->path : NULL, "generation",
                (json_int_t)gw->generation, "entries", "egress", (json_int_t)(c ? c->n_egress : 0), "forwards",
                (json_int_t)(c ? c->n_forwards : 0), "netmaps", (json_int_t)(c ? c->n_netmaps : 0), "map_elements",
                (json_int_t)s->elements, "last_apply",
                "table", s->update ? "updated" : "replaced", "compile_ms", (double)s->compile_usec / 1000.0,
                "kernel_ms", (double)s->kernel_usec / 1000.0,
                "messages", (json_int_t)s->messages, "bytes", (json_int_t)s->bytes, "table_flags",
                (json_int_t)s->table_flags, "last_reload", last_reload_json(info->last_reload), "settings",
                settings_json(&gw->settings), "conntrack", conntrack_json(info->watch));
        if (!j || json_object_set_new(json_object_get(j, "last_apply"), "conntrack",
                                      natgw_ct_stale_json(&gw->last_ct_stale)) < 0 ||
            json_object_set_new(j, "control", control_json(info->control)) < 0 ||
            json_object_set_new(j, "include_dir", c && c->include_dir ? json_string(c->include_dir) : json_null()) < 0 ||
            json_object_set_new(j, "files", files_json(c)) < 0 ||
            json_object_set_new(j, "table_restore", restore_json(&gw->restore)) < 0 ||
            json_object_set_new(j, "snat_ports", info->ports ? natgw_ct_ports_json(info->ports) : json_null()) < 0)
                return NULL;
        return TAKE_PTR(j);
}
