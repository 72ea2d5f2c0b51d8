#!/bin/sh
# Start the log server in the background, then become Prometheus (PID 1, so `docker stop`
# reaches it). Retention is a century: time-based retention counts back from the newest
# block, and must never delete the backfilled history.
set -e
python3 /opt/o11y/logserver.py --port 9080 --dir /var/lib/o11y/logs &
exec prometheus \
  --config.file=/opt/o11y/prometheus.yml \
  --storage.tsdb.path=/var/lib/o11y/tsdb \
  --storage.tsdb.retention.time=100y \
  --storage.tsdb.min-block-duration=2h \
  --storage.tsdb.max-block-duration=2h \
  --web.listen-address=:9090 \
  --log.level=warn
