#!/bin/sh
# Start the log server in the background, then become Prometheus (PID 1, so `docker stop`
# reaches it). Retention is a century: time-based retention counts back from the newest
# block, and must never delete the backfilled history.
#
# The data comes one of two ways. opsbench's runtime puts cached TSDB blocks, logs and
# scenario_time into /var/lib/o11y before starting the container. Under Harbor nothing
# does: the task mounts its own copy of the generator (O11Y_GENERATOR, a zip) and names
# the seed and scenario time (O11Y_SEED, O11Y_SCENARIO_TIME) in its docker-compose.yaml,
# and the sidecar makes the same data itself first (opsbench.o11y.materialize).
set -e
data=/var/lib/o11y
if [ ! -s "$data/scenario_time" ]; then
  if [ -z "${O11Y_SCENARIO_TIME:-}" ] || [ ! -f "${O11Y_GENERATOR:-}" ]; then
    echo "o11y: no data in $data, and no O11Y_SCENARIO_TIME and O11Y_GENERATOR to make it" >&2
    exit 1
  fi
  PYTHONPATH="$O11Y_GENERATOR" python3 -m opsbench.o11y.materialize \
    --seed "${O11Y_SEED:-0}" --scenario-time "$O11Y_SCENARIO_TIME" --data-dir "$data"
fi
python3 /opt/o11y/logserver.py --port 9080 --dir /var/lib/o11y/logs &
exec prometheus \
  --config.file=/opt/o11y/prometheus.yml \
  --storage.tsdb.path=/var/lib/o11y/tsdb \
  --storage.tsdb.retention.time=100y \
  --storage.tsdb.min-block-duration=2h \
  --storage.tsdb.max-block-duration=2h \
  --web.listen-address=:9090 \
  --log.level=warn
