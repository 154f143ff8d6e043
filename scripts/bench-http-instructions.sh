#!/usr/bin/env bash
# Target 5 by instruction counts: the user-space instructions one request costs in an axum
# service with the HTTP metrics layer and an instrumented handler, against the same service
# without either (bench `http_instructions`: server and client on one current-thread tokio
# runtime, sequential requests on one keep-alive loopback connection). Requests per second on
# this shared machine swing by tens of percent between rounds; instruction counts under
# valgrind (callgrind) are deterministic to a few instructions per request.
#
# Only the measured requests are counted (--toggle-collect on the bench's `measured`), at two
# request counts; their difference divided by the difference of counts cancels any fixed cost.
# The client's own code is counted alone in a second run per count (--toggle-collect on its
# future), so that the server side (everything else: hyper, axum, the layer, the handler, the
# runtime's scheduling and I/O driver) can be reported on its own.
#
# Valgrind counts user-space instructions only. The kernel's loopback TCP work, the same for
# both variants and a large part of a request's real cost, is not counted, and the
# instrumented variant's extra work is all in user space: the relative cost printed here is
# therefore an upper bound of (more conservative than) the cost in requests per second.
# Instructions are not cycles either: cache misses and contention between threads are not
# seen.
#
# Usage: scripts/bench-http-instructions.sh [requests1 requests2]   (default 2000 12000)
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-2000}
n2=${2:-12000}
if ! [[ "$n1" =~ ^[0-9]+$ && "$n2" =~ ^[0-9]+$ ]] || [ "$n2" -le "$n1" ]; then
  echo "usage: $0 [requests1 requests2], requests2 > requests1" >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
started=$SECONDS

# Diagnostics are rendered to stderr; stdout carries one JSON message per artifact.
bin=$(cargo bench -p integration-tests --bench http_instructions --no-run \
  --message-format=json-render-diagnostics \
  | grep -o '"executable":"[^"]*/http_instructions-[^"]*"' | tail -n 1 | cut -d '"' -f 4)
[ -x "$bin" ] || { echo "no http_instructions bench binary found" >&2; exit 1; }

# Instructions collected while inside functions matching $3, for variant $1 and $2 requests.
count() {
  local out collected
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
    --toggle-collect="$3" "$bin" "$1" "$2" 2>&1 >/dev/null)
  collected=$(sed -n 's/.*Collected : \([0-9][0-9]*\).*/\1/p' <<<"$out")
  [ -n "$collected" ] || { echo "no count from valgrind for $1 $2:" >&2; echo "$out" >&2; exit 1; }
  echo "$collected"
}

per_request() { # count at n1, count at n2
  awk -v a="$1" -v b="$2" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }'
}

declare -A total client
for variant in plain instrumented; do
  t1=$(count "$variant" "$n1" '*http_instructions::measured*')
  t2=$(count "$variant" "$n2" '*http_instructions::measured*')
  c1=$(count "$variant" "$n1" '*http_instructions::send_requests*')
  c2=$(count "$variant" "$n2" '*http_instructions::send_requests*')
  total[$variant]=$(per_request "$t1" "$t2")
  client[$variant]=$(per_request "$c1" "$c2")
  # Zero if the client's future was inlined away: then there is nothing to toggle on.
  [ "$c2" -gt "$c1" ] || { echo "the client's code was not found in $variant" >&2; exit 1; }
  echo "$variant: ${total[$variant]} instructions per request ($t1 at $n1 requests, $t2 at $n2), of which the client ${client[$variant]}"
done

awk -v p="${total[plain]}" -v i="${total[instrumented]}" -v pc="${client[plain]}" \
  -v ic="${client[instrumented]}" 'BEGIN {
  printf "target 5: instructions per request (user space, server + client in one process): plain %.0f, instrumented %.0f, cost %+.2f%% (target <= 2%%)\n", p, i, (i / p - 1) * 100
  printf "server side alone (all but the client'"'"'s own code): plain %.0f, instrumented %.0f, cost %+.2f%%\n", p - pc, i - ic, ((i - ic) / (p - pc) - 1) * 100
}'

# What share of a request's CPU time is user space, natively: the counted share. The rest,
# the kernel's loopback TCP work, is the same for both variants.
TIMEFORMAT='%U %S'
shares=()
for round in 1 2 3; do
  for variant in plain instrumented; do
    times=$( { time "$bin" "$variant" 50000 >/dev/null; } 2>&1 )
    shares+=("$(awk '{ printf "%.3f", $1 / ($1 + $2) }' <<<"$times")")
  done
done
share=$(printf '%s\n' "${shares[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
awk -v p="${total[plain]}" -v i="${total[instrumented]}" -v s="$share" 'BEGIN {
  printf "user space is %.0f%% of a request'"'"'s CPU time natively (median of 6 runs of 50,000 requests): estimated cost in CPU time per request %+.2f%% (instructions taken as equal in cost)\n", s * 100, (i / p - 1) * s * 100
}'
echo "($((SECONDS - started)) s)"
