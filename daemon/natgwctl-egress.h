/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/*
 * natgwctl egress learn NAME [--for DURATION] (natgwctl-egress.c): @argv starts at "egress".
 * Returns natgwctl's exit code.
 */
int natgwctl_egress(int argc, char *argv[], const char *socket, bool json, double timeout);
