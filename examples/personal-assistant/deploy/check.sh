#!/usr/bin/env bash
# Validate the Prometheus setup of the personal-assistant example:
# both configurations (which also load every rule file), the rule files on
# their own, the rule unit tests, the Alertmanager configuration and where it
# routes each severity the rules use, and the Grafana dashboard against
# Grafana's schema types. Exits non-zero on the first failure.
set -euo pipefail

# Relative paths in the configurations and the tests assume this directory.
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v promtool >/dev/null || { echo "promtool not found (Debian/Ubuntu: apt-get install prometheus)" >&2; exit 1; }
command -v amtool >/dev/null || { echo "amtool not found (Debian/Ubuntu: apt-get install prometheus-alertmanager)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm not found (Debian/Ubuntu: apt-get install npm)" >&2; exit 1; }

echo "== promtool check config prometheus.yml"
promtool check config prometheus.yml

echo "== promtool check config prometheus-fleet.yml"
promtool check config prometheus-fleet.yml

echo "== promtool check rules rules/*.yml"
promtool check rules rules/*.yml

echo "== promtool test rules rules/tests/*.yml"
promtool test rules rules/tests/*.yml

echo "== amtool check-config alertmanager.yml"
amtool check-config alertmanager.yml

# Each severity goes where alertmanager.yml says; a rule with a severity that
# has no route of its own would silently land in the default receiver.
route() { # receiver, then labels
  local receiver=$1
  shift
  echo "== route of {$*}: $receiver"
  amtool config routes test --config.file=alertmanager.yml --verify.receivers="$receiver" "$@" 2>/dev/null >/dev/null \
    || { echo "alertmanager.yml routes {$*} to $(amtool config routes test --config.file=alertmanager.yml "$@" 2>/dev/null), not $receiver" >&2; exit 1; }
}
route pager severity=critical alertname=ServiceDown
route team-chat severity=warning alertname=SlowRequestsP99
route team-chat alertname=WithoutSeverity
route team-chat severity=warning alertname=SmsUsageRollupNotSucceeded job=sms_usage_rollup
for severity in $(grep -ho 'severity: *[a-z]*' rules/*.yml | awk '{print $2}' | sort -u); do
  case $severity in
    critical | warning) ;;
    *) echo "rules use severity \"$severity\", which alertmanager.yml does not route: add a route for it, or use critical or warning" >&2; exit 1 ;;
  esac
done

# Grafana's own TypeScript types of a dashboard (npm package @grafana/schema,
# versions pinned in grafana/check/package-lock.json). `satisfies` types the
# JSON literal with them, so an unknown or misspelt field, a value of the wrong
# type or an unknown variable or panel option value is a compile error.
echo "== grafana/personal-assistant.json against @grafana/schema"
[ -d grafana/check/node_modules ] || npm ci --prefix grafana/check --silent --no-audit --no-fund
printf "import type { Dashboard } from '@grafana/schema';\nexport const dashboard = %s satisfies Dashboard;\n" \
  "$(cat grafana/personal-assistant.json)" >grafana/check/dashboard.ts
grafana/check/node_modules/.bin/tsc -p grafana/check

echo "All Prometheus, Alertmanager and Grafana checks passed."
