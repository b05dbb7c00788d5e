#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The layers of lib/ and daemon/ (docs/ARCHITECTURE.md, "Layers"), checked on the includes.

Every `#include "..."` of lib/*.[ch] and daemon/*.[ch] must point down or sideways within its
own group:

  base         util*, time-util*, nl*, addr*, diag*, log*   includes only base
  model        conf.h                                       base
  subsystems   conf-*, nft*, ct-*, sysctl*, ctl-*, rt-*, import*  its own subsystem, model, base
  composition  gw*                                          composition and everything below
  programs     daemon/*                                     anything above, no private header

A private header (conf-*.h: conf.h is the loader's API; nft-batch.h, nft-rule.h, nft-state.h)
is included only inside its subsystem. Modules (a .c and its .h, by file name) must not include each other
in a cycle, in any layer. Files are classified by name, so a file that does not exist yet is
placed by its prefix. Prints FILE:LINE: why, for each bad include; exits 1 if there is one.
Usage: scripts/check-layers.py [SRCDIR]
"""
import os
import re
import sys

BASE, MODEL, SUBSYSTEM, COMPOSITION, PROGRAM = range(5)
LAYER_NAMES = ["base", "model", "subsystem", "composition", "program"]
BASE_PREFIXES = ("util", "time-util", "nl", "addr", "diag", "log")
# Longest first: "ctl-" before "ct-", "nft" covers nft.h and nft-*.
SUBSYSTEM_PREFIXES = (("sysctl", "sysctl"), ("conf-", "conf"), ("ctl-", "ctl"), ("ct-", "ct"), ("nft", "nft"),
                      ("rt-", "rt"), ("import", "import"))
PRIVATE_HEADERS = re.compile(r"^(conf-.*|import-.*|nft-batch|nft-rule|nft-state)\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def classify(path):
    """(layer, subsystem or None) of a file given as "lib/NAME" or "daemon/NAME"; None: not ours."""
    d, name = path.split("/", 1)
    if d == "daemon":
        return PROGRAM, None
    if name == "conf.h":
        return MODEL, None
    if name.startswith("gw"):
        return COMPOSITION, None
    for prefix, sub in SUBSYSTEM_PREFIXES:
        if name.startswith(prefix):
            return SUBSYSTEM, sub
    if name.startswith(BASE_PREFIXES):
        return BASE, None
    return None


def module(path):
    return os.path.splitext(path)[0]


def resolve(root, src, name):
    """Where an include points: the includer's directory first, then lib/ (the include path)."""
    here = os.path.dirname(src)
    for d in (here, "lib"):
        if os.path.exists(os.path.join(root, d, name)):
            return d + "/" + name
    # Not there (yet): a lib/ file if its name says which layer it is in, else not ours
    # (config.h is generated, system headers are not quoted).
    return "lib/" + name if "/" not in name and classify("lib/" + name) else None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = []
    edges = {}  # module -> {module: (file, line, name)}
    for d in ("lib", "daemon"):
        if not os.path.isdir(os.path.join(root, d)):
            continue
        for f in sorted(os.listdir(os.path.join(root, d))):
            if not f.endswith((".c", ".h")):
                continue
            src = d + "/" + f
            mine = classify(src)
            if mine is None:
                problems.append(f"{src}:1: not in any layer: name it by its layer (scripts/check-layers.py)")
                continue
            with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
                for n, text in enumerate(fh, 1):
                    m = INCLUDE.match(text)
                    if not m:
                        continue
                    dst = resolve(root, src, m.group(1))
                    if dst is None or dst == src:
                        continue
                    why = forbidden(src, mine, dst, classify(dst))
                    if why:
                        problems.append(f'{src}:{n}: include "{m.group(1)}": {why}')
                    if module(dst) != module(src):
                        edges.setdefault(module(src), {}).setdefault(module(dst), (src, n, m.group(1)))
    problems += cycles(edges)
    for p in problems:
        print(p)
    if problems:
        print(f"check-layers: {len(problems)} include(s) against the layers (docs/ARCHITECTURE.md, Layers)",
              file=sys.stderr)
        return 1
    return 0


def forbidden(src, mine, dst, theirs):
    (layer, sub), (dlayer, dsub) = mine, theirs
    name = os.path.basename(dst)
    if PRIVATE_HEADERS.match(name) and not (layer == SUBSYSTEM and sub == dsub):
        return f"{name} is private to the {dsub} subsystem"
    if dlayer > layer:
        return f"a {LAYER_NAMES[layer]} file includes a {LAYER_NAMES[dlayer]} file (layers go down only)"
    if layer == SUBSYSTEM and dlayer == SUBSYSTEM and sub != dsub:
        return f"subsystem {sub} includes subsystem {dsub} (subsystems are independent; move it down)"
    return None


def cycles(edges):
    """One problem per include that lies on a cycle of modules."""
    out = []
    for a in sorted(edges):
        for b, (src, n, name) in sorted(edges[a].items()):
            # Does b reach a? Then a -> b closes a cycle.
            seen, todo = {b}, [b]
            while todo:
                x = todo.pop()
                for y in edges.get(x, {}):
                    if y not in seen:
                        seen.add(y)
                        todo.append(y)
            if a in seen:
                out.append(f'{src}:{n}: include "{name}": closes a cycle of includes between '
                           f"{os.path.basename(a)} and {os.path.basename(b)}")
    return out


if __name__ == "__main__":
    sys.exit(main())
