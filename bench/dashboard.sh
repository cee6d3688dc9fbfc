#!/usr/bin/env bash
# Server time of the dashboard's pages on a demo corpus (the issue's figures are for
# 1,000,000 calls):
#   callscope demo --data-dir D --org bench --calls 1000000 --durability normal
#   CALLSCOPE_BIN=target/release/callscope CALLSCOPE_DATA=D bench/dashboard.sh
# The server runs on D (its first start builds the index; the script waits until /readyz
# says it has caught up). Each figure is the median and the worst of RUNS requests over
# loopback, measured by curl from the request's start to the last byte; the server-side
# time the request log records is the same within a millisecond on loopback.
set -euo pipefail
bin=${CALLSCOPE_BIN:?set CALLSCOPE_BIN to the callscope binary}
data=${CALLSCOPE_DATA:?set CALLSCOPE_DATA to the data directory of a demo corpus}
port=${PORT:-8788}
runs=${RUNS:-20}
base="http://127.0.0.1:$port"
key=$("$bin" keys create --data-dir "$data" --org bench --scopes read 2>/dev/null | tail -1)
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --rate-limit 0 --durability normal \
    >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf "$base/readyz" >/dev/null; do sleep 1; done
jar=$(mktemp)
curl -s -c "$jar" -o /dev/null -X POST "$base/sign-in" --data-urlencode "key=$key"

# One filtered view: an agent, completed calls, the last week of the corpus.
agent=$(curl -s -H "Authorization: Bearer $key" "$base/v1/calls/query" \
    -d '{"size":0,"aggs":{"a":{"terms":{"field":"agent.id","size":1}}}}' |
    sed -E 's/.*"key":"([^"]+)".*/\1/')
latest=$(curl -s -H "Authorization: Bearer $key" "$base/v1/calls/query" \
    -d '{"size":1,"sort":[{"started_at":"desc"}],"fields":["started_at"]}' |
    sed -E 's/.*"started_at":"([0-9-]{10}).*/\1/')
week_ago=$(date -u -d "$latest - 6 days" +%F)
view="agent=$agent&status=completed&from=$week_ago&to=$latest"

# page <path>: prints "median worst" in ms over $runs requests.
page() {
    local times=()
    for _ in $(seq 1 "$runs"); do
        times+=("$(curl -s -b "$jar" -o /dev/null -w '%{time_total}' "$base$1")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{t[NR]=$1*1000} END {printf "%.1f %.1f", t[int((NR+1)/2)], t[NR]}'
}

# Page 500 of the filtered view: follow the "next" links 499 times, then time that page.
# (The view may end sooner; the script then times the last page it reached and says so.)
deep="/calls?$view"
reached=1
for _ in $(seq 2 500); do
    next=$(curl -s -b "$jar" "$base$deep" | grep -o 'id="next-page" rel="next" href="[^"]*"' |
        sed -E 's/.*href="([^"]*)"/\1/; s/&amp;/\&/g') || true
    [ -z "$next" ] && break
    deep=$next
    reached=$((reached + 1))
done

call=$(curl -s -H "Authorization: Bearer $key" "$base/v1/calls/query" \
    -d '{"query":{"term":{"status":"completed"}},"size":1,"fields":["id"]}' |
    sed -E 's/.*"id":"([^"]+)".*/\1/')

total=$(curl -s -H "Authorization: Bearer $key" "$base/v1/calls/query" -d '{"size":0,"track_total_hits":true}' |
    sed -E 's/.*"total":([0-9]+).*/\1/')
echo "corpus: $total calls; view: $view"
echo "page                              median_ms worst_ms"
printf '%-33s %s\n' "calls, filtered, first page" "$(page "/calls?$view")"
printf '%-33s %s\n' "calls, filtered, page $reached" "$(page "$deep")"
printf '%-33s %s\n' "calls, full-text 'refund'" "$(page "/calls?q=refund")"
printf '%-33s %s\n' "analytics, last 30 days" "$(page "/analytics")"
printf '%-33s %s\n' "analytics, filtered view" "$(page "/analytics?$view")"
printf '%-33s %s\n' "call detail" "$(page "/calls/$call")"
