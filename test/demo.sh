#!/usr/bin/env bash
# The seed commands, run for real and shown: OVN + Docker + the plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/ovn-docker}
# up.sh builds this image from Debian's busybox-static; IMAGE=busybox uses yours.
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

test/env/up.sh
test/env/plugin.sh start "$BIN"
docker rm -f busybox demo-a demo-b >/dev/null 2>&1 || true
docker network rm foo >/dev/null 2>&1 || true

step docker network create -d openvswitch --subnet=192.168.1.0/24 foo
step docker run --net=foo --name=busybox "$IMAGE"
step docker run -d --net=foo --name=demo-a "$IMAGE" sleep 3600
step docker run -d --net=foo --name=demo-b "$IMAGE" sleep 3600
step ovn-nbctl show
step docker exec demo-a ping -c 3 demo-b
docker exec -d demo-b sh -c 'echo "hello over TCP from demo-b" | nc -l -p 5000'
sleep 0.2
step docker exec demo-a nc -w 3 demo-b 5000

cat <<MSG

The plugin keeps running (log: /var/log/ovn-docker-demo.log). Clean up with:
  docker rm -f busybox demo-a demo-b && docker network rm foo && make demo-stop
MSG
