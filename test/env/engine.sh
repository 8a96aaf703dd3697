# Sourced by up.sh, down.sh and hosts.sh: which Docker engine runs, and how.
#   DOCKER_ENGINE=debian   Debian's docker.io (20.10, API 1.41), the default
#   DOCKER_ENGINE=current  the current engine, dockerd and runc built from
#                          their Go modules at the versions pinned below and
#                          kept in $OVN_DOCKER_CACHE, so only the first run
#                          on a machine builds them (about 7 minutes)
# Both listen on /var/run/docker.sock, never at once: starting one stops
# the other if this script started it. Each has its own data root.

MOBY_MODULE=github.com/moby/moby/v2/cmd
MOBY_VERSION=v2.0.0-beta.24
RUNC_MODULE=github.com/opencontainers/runc
RUNC_VERSION=v1.5.2
: "${OVN_DOCKER_CACHE:=/var/cache/ovn-docker}"
: "${DOCKER_ENGINE:=debian}"
CURRENT_DIR=$OVN_DOCKER_CACHE/engines/current-$MOBY_VERSION-runc-$RUNC_VERSION

engine_check_name() {
  case "$1" in
    debian|current) ;;
    *) die "DOCKER_ENGINE=$1: want debian or current" ;;
  esac
}

# engine_build_current builds the current engine (dockerd, and docker-proxy
# for -p) once per machine. runc is
# built with libseccomp, so Docker's default seccomp profile applies
# (Debian's runc 1.1.5 lacks time namespaces, which this engine needs).
engine_build_current() {
  [ -x "$CURRENT_DIR/dockerd" ] && [ -x "$CURRENT_DIR/runc" ] && [ -x "$CURRENT_DIR/docker-proxy" ] && return
  command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH
  command -v go >/dev/null || die "go is needed to build the current Docker engine"
  local missing=() p
  for p in libseccomp-dev pkg-config gcc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
  local tmp; tmp=$(mktemp -d)
  log "building dockerd $MOBY_VERSION and runc $RUNC_VERSION into $CURRENT_DIR (once per machine)"
  GOBIN=$tmp CGO_ENABLED=0 go install "$MOBY_MODULE/dockerd@$MOBY_VERSION" "$MOBY_MODULE/docker-proxy@$MOBY_VERSION" ||
    die "building dockerd $MOBY_VERSION failed"
  GOBIN=$tmp CGO_ENABLED=1 go install -tags seccomp "$RUNC_MODULE@$RUNC_VERSION" ||
    die "building runc $RUNC_VERSION failed"
  mkdir -p "$CURRENT_DIR"
  mv "$tmp/runc" "$CURRENT_DIR/runc"
  mv "$tmp/docker-proxy" "$CURRENT_DIR/docker-proxy"
  mv "$tmp/dockerd" "$CURRENT_DIR/dockerd"   # last: its presence means done
  rm -rf "$tmp"
}

# engine_argv ENGINE DATA_ROOT: prints dockerd's command line, one word a
# line (no word has spaces).
engine_argv() {
  case "$1" in
    debian) printf '%s\n' dockerd ;;
    current) printf '%s\n' "$CURRENT_DIR/dockerd" --add-runtime "ovn-docker-runc=$CURRENT_DIR/runc" \
      --default-runtime ovn-docker-runc --userland-proxy-path "$CURRENT_DIR/docker-proxy" ;;
  esac
  printf '%s\n' --data-root "$2" --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs
}

engine_data_root() {
  case "$1" in
    debian) echo /var/lib/docker ;;
    current) echo /var/lib/docker-current ;;
  esac
}

# engine_kind tells which kind of engine answers on the default socket.
engine_kind() {
  local v; v=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null) || return 1
  case "$v" in
    1.41) echo debian ;;
    *) echo "current (API $v)" ;;
  esac
}

# engine_stop PIDFILE: stops a dockerd this script started, cleanly: its
# containers first, then the daemon (which stops its containerd).
engine_stop() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill "$pid"
    local i
    for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 30s"
  fi
  rm -f "$pidfile"
}
