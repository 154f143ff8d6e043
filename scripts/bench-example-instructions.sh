#!/usr/bin/env bash
# Target 5 on the example service, by instruction counts: the user-space instructions a request
# costs in personal-assistant (axum + sqlx on SQLite) with the HTTP metrics layer (`router`)
# and without it (`routes`), under a realistic mix of requests (bench `http_instructions` of
# the personal-assistant package: register a user, open and close a session, read the SMS
# analytics over 300 stored messages, an unknown route; server and client on one current-thread
# tokio runtime, sequential requests on one keep-alive loopback connection per variant).
# Requests per second on this shared machine swing by tens of percent between rounds;
# instruction counts under valgrind (callgrind) do not, though a few hundred instructions per
# request here depend on timing (how often the runtime parks while a SQLite thread works, lock
# contention, malloc arenas): the layer's figure varied from 1,600 to 2,000 in four runs.
#
# Method (as scripts/bench-http-instructions.sh): the bench runs at two request counts, and the
# difference of the counts divided by the difference of requests cancels every fixed cost
# (start, schema, warm-up). Unlike there, both variants run in one process, interleaved in
# rounds (`both`), so that they see the same conditions, and the main thread (runtime, hyper,
# axum, handlers, client, background tasks) is profiled per measured call (--dump-before on the
# bench's `measured_*` functions), which gives each variant its instructions. The SQLite
# connections execute the queries on a thread each, which a --toggle-collect on the main thread
# would not see (callgrind toggles per thread): those threads are counted whole (their fixed
# part cancels in the difference too) and their work per request, the same for both variants,
# is added to both.
#
# The background tasks (health checks every 2 s, gauges every 5 s, the task scheduler's timers)
# cost instructions per second, not per request, which the difference does not cancel: a run of
# the idle service at two durations gives their rate, and rate x the measured wall-time
# difference is subtracted.
#
# The handlers' `#[instrument_metric]` attributes (Api, Database) are compiled into both
# variants, so layered - bare is the HTTP layer alone. The attributes' share is read from the
# bare variant's profiles: the instructions whose source (inlined or not) is metrics-runtime/src
# or the quanta crate, per request. The glue that the macro expands into the handlers' own
# source files (a wrapper future per instrumented function) is not separable, so not counted.
#
# Valgrind counts user-space instructions only. The kernel's loopback TCP and file work, the
# same for both variants and a large part of a request's real cost, is not counted, while the
# instrumentation's work is all in user space: the relative cost printed here is therefore an
# upper bound of (more conservative than) the cost in requests per second. Instructions are
# not cycles either: cache misses and contention between threads are not seen.
#
# Usage: scripts/bench-example-instructions.sh [iterations1 iterations2]   (default 100 1500;
# an iteration is the bench's mix of 5 requests). Takes about 4 minutes (after the build).
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-100}
n2=${2:-1500}
idle1=1
idle2=11
if ! [[ "$n1" =~ ^[0-9]+$ && "$n2" =~ ^[0-9]+$ ]] || [ "$n2" -le "$n1" ]; then
  echo "usage: $0 [iterations1 iterations2], iterations2 > iterations1" >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
command -v callgrind_annotate >/dev/null || { echo "callgrind_annotate is not installed" >&2; exit 1; }

# Diagnostics are rendered to stderr; stdout carries one JSON message per artifact.
bin=$(cargo bench -p personal-assistant --bench http_instructions --no-run \
  --message-format=json-render-diagnostics \
  | grep -o '"executable":"[^"]*/http_instructions-[^"]*"' | tail -n 1 | cut -d '"' -f 4)
[ -x "$bin" ] || { echo "no http_instructions bench binary found" >&2; exit 1; }
started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs the bench with arguments "$2 $3" under callgrind, as run $1: the main thread's profile
# of each measured call in $work/$1.<2, 3, ...>-01 (part 1 is the start), every other thread's
# whole life in $work/$1-NN. Sets, for each variant v measured: main[$1:v] (main thread),
# requests[$1:v], wall[$1:v] (seconds), parts[$1:v] (its profile files); and others[$1].
declare -A main requests wall parts others
measure() {
  local name=$1 variant count seconds index file total
  if ! valgrind --tool=callgrind --callgrind-out-file="$work/$name" --separate-threads=yes \
    --dump-before='*http_instructions::measured_*' \
    "$bin" "$2" "$3" >"$work/$name.out" 2>"$work/$name.err"; then
    echo "the bench failed under valgrind ($2 $3):" >&2
    cat "$work/$name.out" "$work/$name.err" >&2
    exit 1
  fi
  while read -r variant count seconds; do
    requests[$name:$variant]=$count wall[$name:$variant]=$seconds main[$name:$variant]=0
    parts[$name:$variant]=""
  done < <(sed -n 's/^measured: \([a-z]*\) \([0-9]*\) requests in \([0-9.]*\) s$/\1 \2 \3/p' \
    "$work/$name.out")
  local -a order
  read -r -a order < <(sed -n 's/^order: //p' "$work/$name.out") || true
  [ "${#order[@]}" -gt 0 ] || { echo "no measured calls reported ($2 $3)" >&2; exit 1; }
  for index in "${!order[@]}"; do
    variant=${order[$index]} file="$work/$name.$((index + 2))-01"
    total=$(sed -n 's/^totals: //p' "$file" 2>/dev/null)
    [ -n "$total" ] || { echo "no profile of measured call $((index + 1)) ($2 $3)" >&2; exit 1; }
    main[$name:$variant]=$((main[$name:$variant] + total))
    parts[$name:$variant]+=" $file"
  done
  total=0
  for file in "$work/$name"-[0-9]*; do
    [[ $file == *-01 ]] || total=$((total + $(sed -n 's/^totals: //p' "$file")))
  done
  others[$name]=$total
}

# Instructions by `source file:function` whose source is the instrumentation's own code, in
# the profiles $@: lines "count<TAB>file:function" (callgrind_annotate shows the files under
# the current directory relative to it).
instrumentation() {
  local file
  for file in "$@"; do
    callgrind_annotate --inclusive=no --threshold=100 --auto=no "$file"
  done | sed -nE 's/^ *([0-9,]+) \( *[0-9.]+%\)  (.*)$/\1\t\2/p' \
    | sed -E 's/ \[[^]]*\]$//' \
    | awk -F '\t' '$2 ~ /^([^:]*\/)?(instrument-metric|quanta-[0-9.]+)\/src\// {
        gsub(",", "", $1); sum[$2] += $1 } END { for (k in sum) print sum[k] "\t" k }'
}

# Background: the idle service at two durations, per second of the main thread's measured call
# and of the other threads' lives (which differ by the same time).
measure idle1 idle "$idle1"
measure idle2 idle "$idle2"
rate_main=$(awk -v a="${main[idle1:layered]}" -v b="${main[idle2:layered]}" \
  -v t="$((idle2 - idle1))" 'BEGIN { print (b - a) / t }')
rate_others=$(awk -v a="${others[idle1]}" -v b="${others[idle2]}" -v t="$((idle2 - idle1))" \
  'BEGIN { print (b - a) / t }')

measure run1 both "$n1"
measure run2 both "$n2"
# The other threads (SQLite) serve both variants: their instructions per request of either.
read -r per_others background_others < <(awk -v o1="${others[run1]}" -v o2="${others[run2]}" \
  -v r1="$((requests[run1:bare] + requests[run1:layered]))" \
  -v r2="$((requests[run2:bare] + requests[run2:layered]))" \
  -v w1="${wall[run1:bare]}" -v w2="${wall[run2:bare]}" -v x1="${wall[run1:layered]}" \
  -v x2="${wall[run2:layered]}" -v rate="$rate_others" 'BEGIN {
    b = rate * (w2 + x2 - w1 - x1) / (r2 - r1); printf "%.1f %.1f\n", (o2 - o1) / (r2 - r1) - b, b }')
declare -A per_main
for variant in bare layered; do
  read -r per_main[$variant] background < <(awk -v m1="${main[run1:$variant]}" \
    -v m2="${main[run2:$variant]}" -v r1="${requests[run1:$variant]}" \
    -v r2="${requests[run2:$variant]}" -v w1="${wall[run1:$variant]}" \
    -v w2="${wall[run2:$variant]}" -v rate="$rate_main" 'BEGIN {
      b = rate * (w2 - w1) / (r2 - r1); printf "%.1f %.1f\n", (m2 - m1) / (r2 - r1) - b, b }')
  awk -v v="$variant" -v m="${per_main[$variant]}" -v o="$per_others" \
    -v b="$(awk -v a="$background" -v b="$background_others" 'BEGIN { print a + b }')" \
    -v r1="${requests[run1:$variant]}" -v r2="${requests[run2:$variant]}" \
    -v w1="${wall[run1:$variant]}" -v w2="${wall[run2:$variant]}" 'BEGIN {
    printf "%s: %.0f instructions per request: main thread (runtime, HTTP, handlers, client) %.0f + SQLite threads %.0f (%d and %d requests in %.1f and %.1f s under valgrind; background %.0f per request subtracted)\n", v, m + o, m, o, r1, r2, w1, w2, b }'
done
awk -v rm="$rate_main" -v ro="$rate_others" 'BEGIN {
  printf "background (idle service, health checks and timers): %.0f instructions/s (main thread %.0f, SQLite threads %.0f)\n", rm + ro, rm, ro }'

# The instrumentation's own code per request, by source file and function.
for variant in bare layered; do
  # shellcheck disable=SC2086 # lists of file names without spaces
  instrumentation ${parts[run1:$variant]} >"$work/$variant.code1"
  # shellcheck disable=SC2086
  instrumentation ${parts[run2:$variant]} >"$work/$variant.code2"
  awk -F '\t' -v dr="$((requests[run2:$variant] - requests[run1:$variant]))" '
    FNR == NR { before[$2] = $1; next }
    { d = ($1 - before[$2]) / dr; if (d != 0) printf "%.1f\t%s\n", d, $2 }' \
    "$work/$variant.code1" "$work/$variant.code2" | sort -t "$(printf '\t')" -k1,1 -g -r \
    >"$work/$variant.code"
done
code_bare=$(awk -F '\t' '{ s += $1 } END { printf "%.1f", s }' "$work/bare.code")
code_layered=$(awk -F '\t' '{ s += $1 } END { printf "%.1f", s }' "$work/layered.code")
# The first $2 lines of $1, aligned, with shorter names.
top() {
  head -n "$2" "$1" | awk -F '\t' '{
    file = $2; sub(/:.*/, "", file); sub(/^([^:]*\/)?quanta-[0-9.]+\//, "quanta/", file)
    sub(/^([^:]*\/)?metrics-runtime\//, "metrics-runtime/", file)
    fn = $2; sub(/^[^:]*:/, "", fn); if (length(fn) > 90) fn = substr(fn, 1, 87) "..."
    printf "  %7.1f  %s in %s\n", $1, file, fn }'
}
echo "instrumentation code (metrics-runtime/src, quanta) per request: bare (the attributes) ${code_bare}, layered (attributes and layer) ${code_layered}"
echo "top in bare (source file in function):"
top "$work/bare.code" 5
echo "top in layered:"
top "$work/layered.code" 8

echo "($((SECONDS - started)) s)"
awk -v bm="${per_main[bare]}" -v lm="${per_main[layered]}" -v o="$per_others" \
  -v attributes="$code_bare" 'BEGIN {
  bare = bm + o; layer = lm - bm; cost = layer + attributes
  printf "HTTP layer (layered - bare, main thread): %+.0f instructions per request\n", layer
  printf "target 5 (example service): instructions per request (user space): bare %.0f, HTTP layer %+.0f, attributes'"'"' own code %+.0f: cost %+.2f%% of a bare request (target <= 2%%); %+.2f%% of its main thread alone\n", bare, layer, attributes, cost / bare * 100, cost / bm * 100
}'
