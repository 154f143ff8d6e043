#!/usr/bin/env bash
# Validate the Prometheus setup of the personal-assistant example:
# both configurations (which also load every rule file), the rule files on
# their own, and the rule unit tests. Exits non-zero on the first failure.
set -euo pipefail

# Relative paths in the configurations and the tests assume this directory.
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v promtool >/dev/null || { echo "promtool not found (Debian/Ubuntu: apt-get install prometheus)" >&2; exit 1; }

echo "== promtool check config prometheus.yml"
promtool check config prometheus.yml

echo "== promtool check config prometheus-fleet.yml"
promtool check config prometheus-fleet.yml

echo "== promtool check rules rules/*.yml"
promtool check rules rules/*.yml

echo "== promtool test rules rules/tests/*.yml"
promtool test rules rules/tests/*.yml

echo "All Prometheus checks passed."
