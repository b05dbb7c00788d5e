/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* `natgwctl ha master|backup|fault [--conntrackd-conf FILE] [--step-timeout SEC]`: keepalived's
 * notify hook (docs/HA.md). argv[0] is "ha". Returns the exit code: 0 when every step worked
 * and natgwd was told, 1 otherwise, 2 usage. */
int natgwctl_ha(int argc, char *argv[], const char *socket, bool json, double timeout);

#include <jansson.h>

/* The "ha" lines of `natgwctl status` from status's "ha" object (nothing when role is none). */
void natgwctl_ha_print_status(const json_t *ha);
