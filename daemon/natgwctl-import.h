/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* `natgwctl import [--from iptables-save|nft] [FILE]`: argv[0] is "import". Returns the exit code. */
int natgwctl_import(int argc, char *argv[]);
