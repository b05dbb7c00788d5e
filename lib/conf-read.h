/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/stat.h>

#include "conf.h"

/**
 * natgw_conf_read_text() - natgw_config_read_file(), and which file was read
 * @path:     file to read (a regular file, read without blocking, at most 64 MiB, no NUL byte)
 * @ret_text: NUL-terminated text (caller frees)
 * @ret_st:   fstat(2) of what was read, unless NULL
 * @errors:   why it cannot be read
 *
 * Return: as natgw_config_read_file().
 */
int natgw_conf_read_text(const char *path, char **ret_text, struct stat *ret_st, struct natgw_errors *errors);
