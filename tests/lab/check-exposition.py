#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""check-exposition.py [FILE]: is FILE (standard input) valid Prometheus text exposition 0.0.4?

Parsed by the prometheus_client library's own parser (Debian: python3-prometheus-client), an
oracle independent of natgwd, then held to the conventions natgwd promises: every family has
# HELP and # TYPE, counters are named *_total, no family or sample appears twice. Prints
"ok FAMILIES SAMPLES" or the problems (exit 1); exit 77 without the library."""

import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.stderr.write("check-exposition.py: needs python3-prometheus-client\n")
    sys.exit(77)


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    problems = []
    helped, typed = set(), {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            name, kind = line.split(" ")[2:4]
            if name in typed:
                problems.append(f"{name}: # TYPE twice")
            typed[name] = kind
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others on bad input
        print(f"parse error: {e}")
        return 1
    seen, samples = set(), 0
    for f in families:
        # The parser drops _total from a counter's family name.
        name = f.name + "_total" if f.type == "counter" else f.name
        if name not in helped:
            problems.append(f"{name}: no # HELP")
        if typed.get(name) != f.type:
            problems.append(f"{name}: # TYPE {typed.get(name)}, parsed as {f.type}")
        if f.type == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: a counter not named *_total")
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                problems.append(f"{s.name}{s.labels}: twice")
            seen.add(key)
            samples += 1
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"ok {len(families)} {samples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
