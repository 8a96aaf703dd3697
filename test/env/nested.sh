#!/usr/bin/env bash
# Containers inside a VM, on OVN nested ports: a hypervisor chassis and a
# "VM" on it, joined to the multi-host bed's OVN central.
#
#   nested.sh up              bring up the bed's central (and host1, for a
#                             chassis other than the hypervisor), the
#                             hypervisor hv and the VM vm; idempotent
#   nested.sh exec vm CMD…    run CMD in the VM: docker talks to the VM's
#                             engine, ovn-nbctl reaches the central NB
#                             without flags; exec hv CMD… in the hypervisor
#   nested.sh plugin start [FLAGS…] | stop | kill
#                             (re)start the VM's ovn-docker (nested mode,
#                             with extra serve flags), stop it, or kill -9
#   nested.sh down            remove hv and the VM (the bed's hosts stay)
#
# The hypervisor hv is a host of the bed without Docker: network, mount and
# UTS namespaces, OVS on the userspace datapath with br-int, ovn-controller
# with system-id hv and Geneve encap IP 172.31.0.9 on the bed's underlay.
# The VM is a real one (QEMU, software-emulated: this machine's kernel has
# no 802.1Q, Debian's has) running Debian's kernel over this machine's
# filesystem, read-only through 9p with tmpfs on top (test/env/nested-vm.sh
# is its init). Its eth0 is a tap on hv's br-int bound (iface-id) to
# logical port vm1 of switch vm-net; eth1 is QEMU's user network, through
# which SSH comes in (hv's 127.0.0.1:2222) and the central NB is reached
# (tcp:10.0.2.100:6641, forwarded to the central's socket). The VM runs
# its own dockerd and ovn-docker serve --mode nested --parent-port vm1
# --uplink eth0; it has no OVS, no ovn-controller and no SB access.
set -euo pipefail
BED_NAME=nested
. "$(dirname "$0")/bed.sh"

HV=hv
HV_NUM=9                     # underlay address 172.31.0.9, outside port oo9
VM=vm
VM_PORT=vm1                  # the VM's logical port, its containers' parent
VM_SWITCH=vm-net
VM_MAC=0a:00:00:fb:00:0a
VM_ADDR=10.251.0.10
VM_MTU=1442                  # a VM on OVN gets the overlay's MTU
VM_NB=tcp:10.0.2.100:6641    # the central NB, as the VM reaches it
VM_SSH=2222                  # on hv's loopback
KERNEL_PKG=linux-image-amd64
VM_DIR=$BED/$VM

kernel() { ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1; }

install_vm_packages() {
  install_packages qemu-system-x86 "$KERNEL_PKG" socat dropbear-bin openssh-client curl
}

# initramfs: busybox and the modules that mount the root (virtio, 9p,
# overlay); its init mounts this machine's / read-only under tmpfs and
# hands over to nested-vm.sh. The bare 9p mount stays at /host: overlayfs
# keeps what it has read of a file that changes below it, so a binary
# rebuilt on the machine is run (copied) from /host, which 9p never
# caches.
initramfs() {
  local k ver dir m f
  k=$(kernel); [ -n "$k" ] || die "no kernel in /boot ($KERNEL_PKG)"
  ver=${k#/boot/vmlinuz-}
  [ -f "$VM_DIR/initrd-$ver.gz" ] && return
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/mods" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/lower" "$dir/upper" "$dir/root"
  cp /bin/busybox "$dir/bin/"
  deps() {
    local d
    for d in $(modinfo -k "$ver" -F depends "$1" | tr ',' ' '); do deps "$d"; done
    modinfo -k "$ver" -n "$1"
  }
  for m in virtio_pci 9pnet_virtio 9p overlay; do deps "$m"; done | awk '!seen[$0]++' >"$dir/order"
  while read -r f; do cp "$f" "$dir/mods/"; done <"$dir/order"
  sed -i 's|.*/||' "$dir/order"
  cat >"$dir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /order); do insmod "/mods/$m" || echo "initramfs: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /lower || echo "initramfs: 9p failed"
mount -t tmpfs -o size=4g tmpfs /upper && mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /root || echo "initramfs: overlay failed"
set -- $(sed -n 's/.*vminit=\([^ ]*\) vmenv=\([^ ]*\).*/\1 \2/p' /proc/cmdline)
for d in proc sys dev; do mount --move "/$d" "/root/$d"; done
mkdir -p /root/host && mount --move /lower /root/host
exec switch_root /root /usr/bin/docker-init -- /bin/sh "$1" "$2"
INIT
  chmod +x "$dir/init"
  (cd "$dir" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$VM_DIR/initrd-$ver.gz"
  rm -rf "$dir"
}

# vm_port: the VM's logical port (no port security: its containers' own
# ports carry theirs) and the tap its NIC is, on hv's br-int.
vm_port() {
  nb --may-exist ls-add "$VM_SWITCH"
  nb --may-exist lsp-add "$VM_SWITCH" "$VM_PORT" -- lsp-set-addresses "$VM_PORT" "$VM_MAC $VM_ADDR"
  ip -n "$HV" link show vm-tap >/dev/null 2>&1 || ip -n "$HV" tuntap add vm-tap mode tap
  ip -n "$HV" link set vm-tap mtu "$VM_MTU" up
  inh "$HV" ovs-vsctl --timeout=10 --may-exist add-port br-int vm-tap -- set interface vm-tap external-ids:iface-id="$VM_PORT"
}

vm_port_up() { [ "$(nb get logical_switch_port "$VM_PORT" up)" = true ]; }

vm_env() {
  local argv
  mapfile -t argv < <(engine_argv "$DOCKER_ENGINE" "$(engine_data_root "$DOCKER_ENGINE")")
  cat >"$VM_DIR/vm.env" <<ENV
VM_MAC=$VM_MAC
VM_ADDR=$VM_ADDR
VM_MTU=$VM_MTU
VM_PORT=$VM_PORT
VM_KEY=$VM_DIR/id
NB=$VM_NB
PLUGIN_BIN=$PLUGIN_BIN
IMAGE_TAR=$BED/image.tar
TEST_IMAGE=$TEST_IMAGE
ENGINE_ARGV="${argv[*]}"
ENV
}

# ssh_vm CMD...: runs CMD in the VM, as root, with ovn-nbctl pointed at the
# central NB; its status is CMD's.
ssh_vm() {
  local cmd; cmd=$(printf '%q ' "$@")
  nsenter --net="/run/netns/$HV" -- ssh -q -p "$VM_SSH" -i "$VM_DIR/id" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes root@127.0.0.1 \
    "export OVN_NB_DB=$VM_NB PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; cd /; $cmd"
}

# vm_start boots the VM in hv's network namespace (its tap is there) and
# waits for its init to report dockerd and ovn-docker started.
vm_start() {
  alive "$VM_DIR/qemu.pid" && return
  mkdir -p "$VM_DIR"
  [ -f "$VM_DIR/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$VM_DIR/id"
  initramfs
  vm_env
  local k; k=$(kernel)
  # No offloads on the NIC: the userspace datapath completes no checksums.
  local off=csum=off,guest_csum=off,gso=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off
  off=$off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,mrg_rxbuf=off
  local nbfwd="guestfwd=tcp:10.0.2.100:6641-cmd:socat - UNIX-CONNECT:$CENTRAL/ovnnb_db.sock"
  : >"$VM_DIR/console.log"
  nsenter --net="/run/netns/$HV" -- qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 3072 \
    -nographic -nodefaults -no-reboot -serial "file:$VM_DIR/console.log" -daemonize -pidfile "$VM_DIR/qemu.pid" \
    -kernel "$k" -initrd "$VM_DIR/initrd-${k#/boot/vmlinuz-}.gz" \
    -append "console=ttyS0 quiet panic=-1 vminit=$ROOT/test/env/nested-vm.sh vmenv=$VM_DIR/vm.env" \
    -fsdev local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
    -netdev tap,id=up,ifname=vm-tap,script=no,downscript=no -device "virtio-net-pci,netdev=up,mac=$VM_MAC,$off" \
    -netdev "user,id=mgmt,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:$VM_SSH-:22,$nbfwd" \
    -device virtio-net-pci,netdev=mgmt ||
    die "qemu did not start"
  wait_for 300 "the VM (see $VM_DIR/console.log)" grep -q "vm: ready" "$VM_DIR/console.log"
  grep -q "vm: docker ready" "$VM_DIR/console.log" || die "the VM's dockerd did not start (see $VM_DIR/console.log)"
}

# vm_plugin_start [FLAGS...]: (re)starts the VM's ovn-docker from a fresh
# copy of the binary, with extra serve flags.
vm_plugin_start() {
  # shellcheck disable=SC2016
  ssh_vm sh -c '
    f=/run/vm/ovn-docker.pid sock=/run/docker/plugins/openvswitch.sock
    [ -f $f ] && kill "$(cat $f)" 2>/dev/null
    for i in $(seq 100); do [ -S $sock ] || break; sleep 0.1; done
    cp "/host$1" /run/vm/ovn-docker && shift
    /run/vm/ovn-docker serve "$@" >>/var/log/ovn-docker.log 2>&1 </dev/null &
    echo $! >$f
    for i in $(seq 100); do [ -S $sock ] && exit 0; sleep 0.1; done
    echo "ovn-docker did not start in the VM (see /var/log/ovn-docker.log there)" >&2; exit 1' \
    sh "$PLUGIN_BIN" --mode nested --parent-port "$VM_PORT" --uplink eth0 --nb "$VM_NB" --log-level debug "$@"
}

# hv_neighbors: hv and every host of the bed know each other's underlay
# MAC (see underlay_neighbors in bed.sh).
hv_neighbors() {
  local k hvmac mac
  hvmac=$(inh "$HV" ovs-vsctl --timeout=5 get interface br-phy mac_in_use | tr -d '"')
  inh "$HV" ovs-appctl tnl/neigh/aging 3600 >/dev/null
  for k in $(seq "$(hosts_up)"); do
    mac=$(inh "host$k" ovs-vsctl --timeout=5 get interface br-phy mac_in_use | tr -d '"')
    inh "$HV" ovs-appctl tnl/neigh/set br-phy "$UL_NET.$k" "$mac" >/dev/null
    inh "host$k" ovs-appctl tnl/neigh/set br-phy "$UL_NET.$HV_NUM" "$hvmac" >/dev/null
  done
}

nested_up() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  install_vm_packages
  local n; n=$(hosts_up)
  "$(dirname "$0")/hosts.sh" up "$((n > 0 ? n : 1))"
  if [ -d "$(hostdir "$HV")" ] && { ! mountpoint -q "$NSDIR/$HV.mnt" 2>/dev/null || ! chassis_up "$HV" || ! alive "$VM_DIR/qemu.pid"; }; then
    log "hv or the VM was left by an earlier bed; removing them"
    nested_down
  fi
  host_ns "$HV" "$HV_NUM"
  host_ovs "$HV" "$HV_NUM"
  hv_neighbors
  vm_port
  vm_start
  if ! ssh_vm cmp -s "/host$PLUGIN_BIN" /run/vm/ovn-docker; then
    vm_plugin_start
  fi
  wait_for 30 "logical port $VM_PORT up on $HV" vm_port_up
  log "up: hypervisor $HV (chassis $HV, $UL_NET.$HV_NUM), VM $VM on logical port $VM_PORT ($DOCKER_ENGINE engine, ovn-docker in nested mode)"
}

nested_down() {
  if alive "$VM_DIR/qemu.pid"; then
    ssh_vm sh -c 'docker ps -aq | xargs -r docker rm -f' >/dev/null 2>&1 || true
    stop_pid "$VM_DIR/qemu.pid" 10
  fi
  local h=$HV pids pid
  if ip netns list | grep -qw "$h"; then
    pids=$(ip netns pids "$h" 2>/dev/null || true)
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
    for _ in $(seq 50); do
      pids=$(ip netns pids "$h" 2>/dev/null || true)
      [ -z "$pids" ] && break
      sleep 0.1
    done
    for pid in $(ip netns pids "$h" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  umount "$NSDIR/$h.mnt" "$NSDIR/$h.uts" 2>/dev/null || true
  rm -f "$NSDIR/$h.mnt" "$NSDIR/$h.uts"
  ip netns del "$h" 2>/dev/null || true
  rm -rf "$(hostdir "$h")" "$VM_DIR"
  if alive "$CENTRAL/sb.pid"; then sb --if-exists chassis-del "$HV"; fi
  if alive "$CENTRAL/nb.pid"; then nb --if-exists ls-del "$VM_SWITCH"; fi
  outside_unplug "oo$HV_NUM"
  log "down: $HV and $VM removed"
}

case "${1:-}" in
  up) ns_dir; nested_up ;;
  exec)
    [ $# -ge 3 ] || die "usage: nested.sh exec vm|hv CMD..."
    case "$2" in "$VM" | "$HV") ;; *) die "no machine named $2 (vm or hv)" ;; esac
    h=$2; shift 2
    if [ "$h" = "$VM" ]; then
      alive "$VM_DIR/qemu.pid" || die "the VM is not up (nested.sh up)"
      ssh_vm "$@"
    else
      [ -e "$NSDIR/$h.mnt" ] || die "$h is not up (nested.sh up)"
      inh "$h" "$@"
    fi ;;
  plugin)
    case "${2:-}" in
      start) shift 2; vm_plugin_start "$@" ;;
      stop) ssh_vm sh -c 'kill $(cat /run/vm/ovn-docker.pid) 2>/dev/null; rm -f /run/vm/ovn-docker.pid' ;;
      kill) ssh_vm sh -c 'kill -9 $(cat /run/vm/ovn-docker.pid) 2>/dev/null; rm -f /run/vm/ovn-docker.pid' ;;
      *) die "usage: nested.sh plugin start [FLAGS...] | stop | kill" ;;
    esac ;;
  down) nested_down ;;
  *) die "usage: nested.sh up | exec vm|hv CMD... | plugin start|stop|kill | down" ;;
esac
