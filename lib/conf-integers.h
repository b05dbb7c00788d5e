/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "conf.h"

/**
 * natgw_conf_check_integers() - find the integers libconfig would misread
 * @text:   config text that libconfig parsed without a syntax error
 * @file:   file name for the errors
 * @errors: one error is appended per integer that does not fit: in 32 bits without the L
 *          suffix, in 64 bits with it (libconfig 1.5 would silently truncate it)
 *
 * Return: the number of errors added; -ENOMEM.
 */
int natgw_conf_check_integers(const char *text, const char *file, struct natgw_errors *errors);
