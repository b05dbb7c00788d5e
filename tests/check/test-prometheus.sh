#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# conf/prometheus: the scrape config and the alert rules are what Prometheus accepts (promtool
# check config / rules, where Debian's prometheus package is installed), and in any case YAML
# with the shape Prometheus reads: groups of named rules, each alert with an expression.
# (That the rules use only metrics natgwd exports is checked by tests/unit/test-gw-metrics.c.)
set -euo pipefail
: "${SRCDIR:?}"
dir=$SRCDIR/conf/prometheus
fail() { echo "FAIL: $*" >&2; exit 1; }

if command -v promtool >/dev/null; then
        out=$(promtool check rules "$dir/natgwd.rules.yml" 2>&1) || fail "promtool check rules: $out"
        out=$(cd "$dir" && promtool check config prometheus.yml 2>&1) || fail "promtool check config: $out"
        echo "# promtool: rules and config accepted"
fi
/usr/bin/python3 - "$dir" <<'PY' || fail "conf/prometheus is not what Prometheus reads"
import sys, yaml
d = sys.argv[1]
rules = yaml.safe_load(open(d + "/natgwd.rules.yml"))
alerts = [r for g in rules["groups"] for r in g["rules"]]
assert all(g["name"] for g in rules["groups"])
assert len(alerts) >= 5, alerts
for r in alerts:
    assert r["alert"] and r["expr"].strip() and r["labels"]["severity"] in ("warning", "critical"), r
names = {r["alert"] for r in alerts}
# The issue's three: conntrack critical, port usage, reload failures.
for want in ("NatgwConntrackCritical", "NatgwSnatPortsWarn", "NatgwReloadFailed"):
    assert want in names, want
cfg = yaml.safe_load(open(d + "/prometheus.yml"))
assert cfg["rule_files"] == ["natgwd.rules.yml"]
assert cfg["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9727"]
print("# YAML: %d alerts" % len(alerts))
PY
echo "PASS"
