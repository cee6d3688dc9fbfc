#!/usr/bin/env bash
# Peak memory of the heaviest aggregations the default limits accept, and the answer to the
# ones they refuse, against a server on a benchmark corpus:
#   callscope bench --data-dir D --calls 1000000 --durability normal
#   callscope serve --data-dir D --listen 127.0.0.1:8787 --rate-limit 0 &
#   CALLSCOPE_KEY=$(callscope keys create --data-dir D --org bench | tail -1) \
#       CALLSCOPE_PID=$! bench/memory/aggregations.sh
# Before each query the process's peak resident size (VmHWM) is reset to its current size
# (`clear_refs`), so the peak read after it is that query's own, over what was resident.
set -euo pipefail
base=${BASE:-http://127.0.0.1:8787}
: "${CALLSCOPE_KEY:?set CALLSCOPE_KEY to a read key of organization bench}"
: "${CALLSCOPE_PID:?set CALLSCOPE_PID to the process id of the server}"
kib() { awk -v f="$1" '$1 == f":" {print $2}' "/proc/$CALLSCOPE_PID/status"; }
run() {
    local name=$1 body=$2
    echo 5 > "/proc/$CALLSCOPE_PID/clear_refs"
    local before
    before=$(kib VmRSS)
    local start end
    start=$(date +%s%N)
    local status
    status=$(curl -s -o /tmp/aggregation-answer.json -w '%{http_code}' \
        -H "Authorization: Bearer $CALLSCOPE_KEY" "$base/v1/calls/query" -d "$body")
    end=$(date +%s%N)
    local peak
    peak=$(kib VmHWM)
    printf '%-46s %s %6d ms  peak +%6.1f MiB  (resident before %6.1f MiB)  %s\n' \
        "$name" "$status" $(((end - start) / 1000000)) \
        "$(awk -v p="$peak" -v b="$before" 'BEGIN {print (p - b) / 1024}')" \
        "$(awk -v b="$before" 'BEGIN {print b / 1024}')" \
        "$(head -c 160 /tmp/aggregation-answer.json | tr '\n' ' ')"
}
run "terms id size 10000" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"id","size":10000}}}}'
run "terms id size 10000 > stats duration" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"id","size":10000},"aggs":{"s":{"stats":{"field":"duration_ms"}}}}}}'
run "6 x terms id size 10000" \
    '{"size":0,"aggs":{"a":{"terms":{"field":"id","size":10000}},"b":{"terms":{"field":"from_number","size":10000}},"c":{"terms":{"field":"to_number","size":10000}},"d":{"terms":{"field":"transcript.id","size":10000}},"e":{"terms":{"field":"request_ids","size":10000}},"f":{"terms":{"field":"flow.path.node_id","size":10000}}}}'
run "date_histogram 1m over 30 days > avg" \
    '{"size":0,"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1m"},"aggs":{"a":{"avg":{"field":"duration_ms"}}}}}}'
run "terms agent 100 > date_histogram 1h > pct" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":100},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1h"},"aggs":{"p":{"percentiles":{"field":"metrics.agent_latency_ms.avg"}}}}}}}}'
run "terms agent 100 > terms campaign 100 > pct" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":100},"aggs":{"c":{"terms":{"field":"campaign_id","size":100},"aggs":{"p":{"percentiles":{"field":"duration_ms"}}}}}}}}'
run "histogram duration 1 ms (min_doc_count 1)" \
    '{"size":0,"aggs":{"h":{"histogram":{"field":"duration_ms","interval":1,"min_doc_count":1}}}}'
run "refused: histogram interval 1e-9" \
    '{"size":0,"aggs":{"h":{"histogram":{"field":"duration_ms","interval":1e-9}}}}'
run "refused: date_histogram 1ms" \
    '{"size":0,"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1ms"}}}}'
run "refused: terms 10000 > date_histogram 1s" \
    '{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":10000},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1s"}}}}}}'
