#!/usr/bin/env bash
# Installs and starts what the test suite needs on a Debian machine, and nothing it already has:
#   redis-server (a Redis must answer at $REDIS_URL, default 127.0.0.1:6379),
#   prometheus + promtool (end-to-end tests, `promtool check metrics/rules`),
#   prometheus-alertmanager (the stack test: an alert reaches a webhook),
#   chromium (the report test renders `krt report` in a real headless browser).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "ensure-services: installing Debian packages: $pkgs"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # The prometheus package tries to start a system service; machines without systemd refuse,
  # which is harmless: the tests run their own Prometheus.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null || {
    command -v prometheus >/dev/null && command -v redis-server >/dev/null && command -v prometheus-alertmanager >/dev/null && command -v chromium >/dev/null || exit 1
  }
fi

url="${REDIS_URL:-redis://127.0.0.1:6379}"
hostport="${url#redis://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=6379
if ! redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
  echo "ensure-services: no Redis at $host:$port; starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -h "$host" -p "$port" ping >/dev/null
fi
echo "ensure-services: redis $(redis-server --version | awk '{print $3}'), $(prometheus --version 2>&1 | head -1)"
