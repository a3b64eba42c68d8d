#!/bin/bash
# PID 1 of the test VM (test/vm/build.sh packs it as /init of the initramfs). Mounts the kernel filesystems, loads
# the modules the tests need, mounts the project shared by test/vm/run.sh over 9p at /project, runs
# /project/.run/vm/command.sh there as root, writes its exit status to /project/.run/vm/exit-code and powers off.
# The serial console (ttyS0) is the VM's stdout and stderr, so the host sees the command's output as it runs.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
ln -sf /proc/self/mounts /etc/mtab
hostname hostpath-csi-vm
ip link set lo up
power_off() { echo "vm: $*"; sync; echo o >/proc/sysrq-trigger; sleep 10; }
# quota_v2 is ext4's quota file format; loop for the test filesystems; xfs and ext4 are modules in Debian's kernel.
modprobe -a virtio_pci virtio_blk 9pnet_virtio 9p loop ext4 xfs quota_v2 quota_tree crc32c_generic \
  || power_off "could not load the kernel modules"
# msize: larger 9p messages cut the round trips of reading node_modules. cache=loose caches what was read (a driver
# starts in 3 s instead of 8 under emulation): nothing on the host changes the checkout while the VM runs, and
# power_off syncs what the VM wrote before the power goes.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose project /project \
  || power_off "could not mount the project share"
cd /project || power_off "no /project"
echo "vm: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
# Through a pipe, so test runners see no terminal (the console is one) and print plain lines, not redraws.
bash .run/vm/command.sh </dev/null 2>&1 | cat
rc=${PIPESTATUS[0]}
echo "$rc" >.run/vm/exit-code
power_off "command exited with $rc"
