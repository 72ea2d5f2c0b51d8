#!/bin/sh
# Healthy = Prometheus is ready, the backfilled data answers a query at the scenario time,
# and the log server responds. /var/lib/o11y/scenario_time (unix seconds) comes with the data.
t=$(cat /var/lib/o11y/scenario_time 2>/dev/null) || exit 1
curl -fsS -m 1 http://127.0.0.1:9090/-/ready >/dev/null || exit 1
curl -fsS -m 1 "http://127.0.0.1:9090/api/v1/query?query=count(up)&time=$t" \
  | grep -q '"result":\[{' || exit 1
curl -fsS -m 1 http://127.0.0.1:9080/healthz >/dev/null || exit 1
