#!/usr/bin/env bash
# Queries (1) and (6) of `callscope bench` over HTTP with wrk at 4 connections, against a
# server on a benchmark corpus:
#   callscope bench --data-dir D --calls 1000000 --durability normal
#   callscope serve --data-dir D --listen 127.0.0.1:8787 --rate-limit 0 &
# (one key at thousands of requests a second: the default per-key rate would shape the result)
#   CALLSCOPE_KEY=$(callscope keys create --data-dir D --org bench | tail -1) bench/wrk/run.sh
set -euo pipefail
base=${BASE:-http://127.0.0.1:8787}
: "${CALLSCOPE_KEY:?set CALLSCOPE_KEY to a read key of organization bench}"
here=$(dirname "$0")
query() {
    curl -sf -H "Authorization: Bearer $CALLSCOPE_KEY" -H 'Content-Type: application/json' \
        "$base/v1/calls/query" -d "$1"
}
AGENTS=$(query '{"size": 0, "aggs": {"a": {"terms": {"field": "agent.id", "size": 20}}}}' |
    python3 -c 'import json, sys; print(",".join(b["key"] for b in json.load(sys.stdin)["aggregations"]["a"]["buckets"]))')
IDS=$(query '{"size": 200, "fields": ["id"], "sort": [{"created_at": "desc"}]}' |
    python3 -c 'import json, sys; print(",".join(c["id"] for c in json.load(sys.stdin)["calls"]))')
export AGENTS IDS
echo "(1) term agent.id, sort started_at desc, top 10 (POST /v1/calls/query)"
wrk -t2 -c4 -d"${DURATION:-20s}" -s "$here/term-agent-sorted.lua" "$base" | tail -1
echo "(6) get by id (GET /insights/sessions/search/{id})"
wrk -t2 -c4 -d"${DURATION:-20s}" -s "$here/get-by-id.lua" "$base" | tail -1
