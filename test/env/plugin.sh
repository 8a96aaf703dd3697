#!/usr/bin/env bash
# Starts or stops the plugin in the background for the demo:
#   plugin.sh start BIN   plugin.sh stop
# start also sets the outside of routed networks (ovn-docker gateway set).
# The e2e suite starts its own plugin and needs the socket free.
set -euo pipefail
RUN=/run/ovn-docker
PID=$RUN/demo.pid
LOG=/var/log/ovn-docker-demo.log
SOCK=/run/docker/plugins/openvswitch.sock

stop() {
  [ -f "$PID" ] || return 0
  local pid; pid=$(cat "$PID")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PID"
}

# gateway BIN: routed networks leave through ovn-outside (up.sh), this
# host their gateway chassis; routers get addresses from .16/28.
gateway() {
  local bin=$1 sid
  sid=$(ovs-vsctl --timeout=5 get open . external-ids:system-id | tr -d '"')
  "$bin" gateway set --subnet 172.30.0.0/24 --next-hop 172.30.0.1 --range 172.30.0.16/28 \
    --chassis "$sid" --physnet physnet >/dev/null
}

start() {
  local bin=$1
  stop
  gateway "$bin"
  mkdir -p "$RUN"
  setsid "$bin" serve --socket "$SOCK" --log-level debug >>"$LOG" 2>&1 < /dev/null &
  echo $! > "$PID"
  for _ in $(seq 50); do
    [ -S "$SOCK" ] && return 0
    sleep 0.1
  done
  echo "plugin did not create $SOCK; see $LOG" >&2
  exit 1
}

case "${1:-}" in
  start) start "${2:?usage: plugin.sh start BIN}" ;;
  stop) stop ;;
  *) echo "usage: plugin.sh start BIN | stop" >&2; exit 2 ;;
esac
