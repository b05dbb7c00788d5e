/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The lab's tools (natgw-ct-fill, natgw-load) refuse to run in the host's own network
 * namespace: there they would fill the host's conntrack table or send traffic beside the lab.
 */

#include <stdbool.h>
#include <sys/stat.h>

/* The initial network namespace's inode number is fixed (PROC_NET_INIT_INO in the kernel). */
#define NET_INIT_INO 0xEFFFFFF9u

/* Is this the host's own namespace? PID 1's namespace is not always readable (containers,
 * sandboxes), so the fixed inode number decides first. */
static inline bool in_host_netns(void) {
        struct stat self, init;

        if (stat("/proc/self/ns/net", &self) < 0)
                return true; /* cannot tell: assume the worst */
        if (self.st_ino == NET_INIT_INO)
                return true;
        return stat("/proc/1/ns/net", &init) == 0 && self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}
