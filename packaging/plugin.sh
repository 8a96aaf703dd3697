#!/usr/bin/env bash
# Builds the managed plugin (rootfs from the Dockerfile + plugin.json),
# creates it in the local engine and enables it:
#   packaging/plugin.sh [NAME]        (make plugin)
# then use -d NAME:latest. BIN names the binary to package (default
# bin/ovn-docker); PLUGIN_SET holds settings for `docker plugin set`
# (KEY=VALUE ..., e.g. OVN_DOCKER_NB=tcp:10.0.0.10:6641). On a swarm node
# the plugin gets OVN_DOCKER_SCOPE=swarm unless PLUGIN_SET says otherwise
# (docs/multihost.md#swarm).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:-openvswitch}
BIN=${BIN:-bin/ovn-docker}
[ -x "$BIN" ] || { echo "$BIN missing: run make build" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/context/bin"
cp Dockerfile "$dir/context/"
cp "$BIN" "$dir/context/bin/ovn-docker"
# The legacy builder needs no buildx plugin and no registry for FROM scratch.
DOCKER_BUILDKIT=0 docker build -q -t ovn-docker-plugin-rootfs:build "$dir/context" >/dev/null
cid=$(docker create ovn-docker-plugin-rootfs:build)
mkdir -p "$dir/rootfs"
docker export "$cid" | tar -C "$dir/rootfs" -x
docker rm "$cid" >/dev/null
docker rmi ovn-docker-plugin-rootfs:build >/dev/null
cp plugin.json "$dir/config.json"

if docker plugin inspect "$NAME" >/dev/null 2>&1; then
  docker plugin disable -f "$NAME" >/dev/null 2>&1 || true
  docker plugin rm -f "$NAME" >/dev/null
fi
docker plugin create "$NAME" "$dir" >/dev/null

read -r -a settings <<<"${PLUGIN_SET:-}"
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] && [[ " ${PLUGIN_SET:-}" != *" OVN_DOCKER_SCOPE="* ]]; then
  settings+=(OVN_DOCKER_SCOPE=swarm)
fi
if [ ${#settings[@]} -gt 0 ]; then
  docker plugin set "$NAME" "${settings[@]}"
fi
docker plugin enable "$NAME" >/dev/null
echo "plugin $NAME:latest created and enabled${settings[*]:+ with ${settings[*]}}"
