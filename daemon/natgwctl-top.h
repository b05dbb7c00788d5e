/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/*
 * natgwctl top [-n N] (natgwctl-top.c): the inside hosts by current bandwidth, refreshed every
 * second on a terminal, once with @json or when standard output is not a terminal.
 * Returns natgwctl's exit code.
 */
int natgwctl_top(const char *socket, bool json, double timeout, unsigned top);
