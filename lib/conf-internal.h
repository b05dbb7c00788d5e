/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Every private header of the conf-* files, for their unit tests; the conf-*.c files include
 * only the headers they use (scripts/check-layers.py). The API of the compiler and the daemon
 * is conf.h.
 */

#include "conf-addr.h"
#include "conf-ctx.h"
#include "conf-entry.h"
#include "conf-integers.h"
#include "conf-validate.h"
