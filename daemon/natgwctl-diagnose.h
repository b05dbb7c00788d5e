/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/* natgwctl diagnose: the command line and the output; the layers are lib/gw-diagnose*.c. */

struct natgwctl_diagnose_args {
        const char *socket;
        double timeout;
        bool json;
        bool used;            /* one of the options below was given */
        const char *from;     /* --from ADDR */
        double watch;         /* --watch SEC, 0: none */
        const char *egress;   /* --egress ADDR */
        const char *to;       /* --to ADDR[:PORT] */
        const char *proto;    /* --proto P */
};

/* Take one of diagnose's options (getopt's @c: 'f', 'w', 'e', 't', 'p'); -EINVAL (said on stderr). */
int natgwctl_diagnose_option(struct natgwctl_diagnose_args *a, int c, const char *value);

/* Run diagnose with the arguments after the verb; returns natgwctl's exit status. */
int natgwctl_diagnose(const struct natgwctl_diagnose_args *a, int argc, char **argv);
