#!/usr/bin/env bash
# The acceptance run of the crash model (issue 11), on the default project and the real binary:
# N random SIGKILLs of a re-backfill over populated data, each followed by `hourglass status`
# (which must exit 1 and name the partitions while any may be doubled) and one
# `hourglass populate`; after each, every hour of events_hourly is compared with raw SQL
# (count, float sum, distinct users). Usage: scripts/kill-acceptance.sh [DIR] [KILLS] [EVENTS]
set -uo pipefail
dir=${1:-$(mktemp -d)}; kills=${2:-20}; events=${3:-3000000}
hg=${HOURGLASS:-$(cd "$(dirname "$0")/.." && pwd)/bin/hourglass}
[ -x "$hg" ] || { echo "build first: make build (or set HOURGLASS)" >&2; exit 2; }
cd "$dir"
if [ ! -d shop ]; then
  "$hg" init shop >/dev/null && cd shop
  "$hg" deploy >/dev/null && "$hg" generate --events "$events" --days 60 >/dev/null 2>&1
  "$hg" backfill events_hourly events_overview_hourly sessions_hourly audience_hourly --from -61d --to now >/dev/null 2>&1
else
  cd shop
fi
differing() {
  "$hg" sql "SELECT count() FROM
 (SELECT toStartOfHour(timestamp) AS h, count() AS c, sum(value_usd) AS v, uniq(user_id) AS u FROM analytics.events
  WHERE timestamp < (SELECT max(hour) + 3600 FROM analytics.events_hourly) GROUP BY h) AS r
 FULL OUTER JOIN
 (SELECT hour AS h, sum(event_count) AS c, sum(total_value_usd) AS v, uniqMerge(unique_users) AS u FROM analytics.events_hourly GROUP BY h) AS o
 USING h WHERE r.c != o.c OR abs(r.v - o.v) > 1e-9 * greatest(abs(r.v), 1) OR r.u != o.u FORMAT TSV"
}
after_total=0; flagged=0
for i in $(seq 1 "$kills"); do
  "$hg" backfill events_hourly --from -61d --to now >bf.log 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
  [ $((RANDOM % 2)) -eq 0 ] && sleep "$((RANDOM % 6))"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  before=$(differing)
  "$hg" status >status.log 2>&1; st=$?
  "$hg" populate >populate.log 2>&1; pst=$?
  after=$(differing)
  echo "kill $i: hours differing before populate $before; status exit $st; populate exit $pst; hours differing after $after"
  if [ "$st" != 0 ]; then flagged=$((flagged + 1)); grep "SUSPECT" status.log | tail -1 | sed 's/^/    /'; fi
  if [ "$before" != 0 ] && [ "$st" = 0 ]; then echo "    status was green while $before hours differed" >&2; after_total=$((after_total + 1000000)); fi
  after_total=$((after_total + after))
done
echo "$kills kills: status flagged suspect partitions after $flagged; hours differing from raw after the populates: $after_total"
[ "$after_total" = 0 ]
