#!/usr/bin/env bash
# Heap each heavy aggregation takes, and the answer to the ones the limits refuse, on a
# benchmark corpus:
#   callscope bench --data-dir D --calls 1000000 --durability normal
#   CALLSCOPE_BIN=target/release/callscope CALLSCOPE_DATA=D bench/memory/aggregations.sh
# Each query runs in a fresh server (started on D, warmed with one cheap query), so nothing
# an earlier one left in the allocator hides its own growth. The heap is the process's
# anonymous resident memory (RssAnon), sampled every 5 ms while the query runs; file pages of
# the index that the query reads are not counted (they are the page cache's).
set -euo pipefail
bin=${CALLSCOPE_BIN:?set CALLSCOPE_BIN to the callscope binary}
data=${CALLSCOPE_DATA:?set CALLSCOPE_DATA to the data directory of a bench corpus}
port=${PORT:-8787}
key=$("$bin" keys create --data-dir "$data" --org bench --scopes read 2>/dev/null | tail -1)
anon() { awk '$1 == "RssAnon:" {print $2}' "/proc/$1/status" 2>/dev/null; }
measure() {
    local name=$1 body=$2
    "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --rate-limit 0 \
        >/dev/null 2>/dev/null &
    local pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.2
    done
    curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/calls/query" \
        -d '{"size":0,"aggs":{"w":{"terms":{"field":"agent.id","size":10}}}}' >/dev/null
    local before samples
    before=$(anon "$pid")
    samples=$(mktemp)
    (while kill -0 "$pid" 2>/dev/null; do anon "$pid" >>"$samples"; sleep 0.005; done) &
    local sampler=$! start end status
    start=$(date +%s%N)
    status=$(curl -s -o /tmp/aggregation-answer.json -w '%{http_code}' \
        -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/calls/query" -d "$body")
    end=$(date +%s%N)
    sleep 0.05
    local peak
    peak=$(sort -n "$samples" | tail -1)
    kill "$pid" "$sampler" 2>/dev/null || true
    wait "$pid" "$sampler" 2>/dev/null || true
    rm -f "$samples"
    printf '%-44s %s %6d ms  heap +%6.1f MiB  %s\n' "$name" "$status" \
        $(((end - start) / 1000000)) \
        "$(awk -v p="$peak" -v b="$before" 'BEGIN {print (p - b) / 1024}')" \
        "$(head -c 100 /tmp/aggregation-answer.json | tr '\n' ' ')"
}
measure "terms id size 10000" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"id","size":10000}}}}'
measure "terms id size 10000 > stats" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"id","size":10000},"aggs":{"s":{"stats":{"field":"duration_ms"}}}}}}'
measure "terms from_number 10000 > stats" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"from_number","size":10000},"aggs":{"s":{"stats":{"field":"duration_ms"}}}}}}'
day=$(date -u -d '2 days ago' +%F)
measure "one day: terms id 10000 > stats" \
    '{"size":0,"query":{"range":{"started_at":{"gte":"'"$day"'","lte":"'"$day"'"}}},"aggs":{"t":{"terms":{"field":"id","size":10000},"aggs":{"s":{"stats":{"field":"duration_ms"}}}}}}'
measure "terms agent 100 > date_histogram 1h" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":100},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1h"}}}}}}'
measure "terms agent 100 > date_histogram 1h > pct" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":100},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1h"},"aggs":{"p":{"percentiles":{"field":"duration_ms"}}}}}}}}'
measure "terms agent 100 > date_histogram 1h > card" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":100},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1h"},"aggs":{"p":{"cardinality":{"field":"from_number"}}}}}}}}'
measure "date_histogram 1h > terms id 10" \
    '{"size":0,"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1h"},"aggs":{"t":{"terms":{"field":"id","size":10}}}}}}'
measure "histogram duration 10 ms (min_doc_count 1)" \
    '{"size":0,"aggs":{"h":{"histogram":{"field":"duration_ms","interval":10,"min_doc_count":1}}}}'
measure "refused: histogram interval 1e-9" \
    '{"size":0,"aggs":{"h":{"histogram":{"field":"duration_ms","interval":1e-9}}}}'
measure "refused: date_histogram 1ms" \
    '{"size":0,"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1ms"}}}}'
measure "refused: terms 10000 > date_histogram 1s" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":10000},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1s"}}}}}}'
