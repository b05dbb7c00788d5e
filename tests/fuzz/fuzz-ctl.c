/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol's decoder on arbitrary bytes, as they come off the socket: a request or
 * an error message, never a crash. What decodes must encode and decode to the same request.
 */

#include "ctl-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct natgw_ctl_request req = {}, again = {};
        _cleanup_(freep) char *error = NULL, *line = NULL, *error2 = NULL;
        int r;

        r = natgw_ctl_request_parse((const char *)data, size, &req, &error);
        if (r == -EINVAL) {
                if (!error)
                        abort();
                return 0;
        }
        if (r < 0)
                return 0;
        line = natgw_ctl_request_format(&req);
        if (!line)
                return 0;
        if (natgw_ctl_request_parse(line, strlen(line) - 1, &again, &error2) != 0 || again.command != req.command ||
            (req.command == NATGW_CTL_CONNTRACK && again.top != req.top))
                abort();
        return 0;
}
