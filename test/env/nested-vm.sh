#!/bin/sh
# The nested bed's VM, as its init runs it (under docker-init, which reaps
# orphans as PID 1 must): everything the VM has of its own lives in
# tmpfs over the machine's filesystem, seen read-only through 9p. It
# brings up the VM's NIC (eth0, bound to logical port vm1 on the
# hypervisor), the management NIC (eth1: SSH in, the central NB out),
# dropbear, dockerd and ovn-docker in nested mode. Settings come from
# vm.env, written by nested.sh.
set -u
. "$1"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
say() { echo "vm: $*" >/dev/ttyS0; }

mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/docker/plugins /run/lock /run/ovn /run/vm
for d in /tmp /root /var/log /var/lib/docker /var/lib/docker-current /var/lib/containerd /etc/dropbear; do
  mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d"
done
chmod 1777 /tmp
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
hostname vm
for m in virtio_net 8021q veth bridge br_netfilter overlay; do modprobe "$m" || say "modprobe $m failed"; done

ip link set lo up
# The NIC OVN sees: the VM port's MAC, the overlay's MTU; the userspace
# datapath on the hypervisor does not complete partial checksums.
ip link set eth0 address "$VM_MAC" mtu "$VM_MTU" up
ethtool -K eth0 tx off >/dev/null 2>&1
ip addr add "$VM_ADDR/24" dev eth0
ip link set eth1 up
ip addr add 10.0.2.15/24 dev eth1

mkdir -p /root/.ssh
cp "$VM_KEY.pub" /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
dropbear -R -E -s -p 22 2>>/var/log/dropbear.log

# dockerd's own flags, as the bed's hosts run it (engine.sh).
# shellcheck disable=SC2086
$ENGINE_ARGV >>/var/log/dockerd.log 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 600 ] || { say "dockerd did not start"; break; }
  sleep 0.2
done
docker import -c 'CMD ["sh"]' "$IMAGE_TAR" "$TEST_IMAGE" >/dev/null || say "image import failed"
say "docker ready"

# ovn-docker: started again by nested.sh plugin start (a copy of the
# binary, so that a rebuild never changes the running one).
cp "/host$PLUGIN_BIN" /run/vm/ovn-docker
/run/vm/ovn-docker serve --mode nested --parent-port "$VM_PORT" --uplink eth0 --nb "$NB" --log-level debug \
  >>/var/log/ovn-docker.log 2>&1 &
echo $! >/run/vm/ovn-docker.pid
say "ready"
while :; do sleep 3600; done
