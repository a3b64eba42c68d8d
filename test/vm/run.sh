#!/usr/bin/env bash
# Boots the test VM (built and cached by test/vm/build.sh) and runs one command in it as root, in this checkout,
# which the VM sees over 9p at /project; exits with that command's exit status. The VM has no network.
# Usage: test/vm/run.sh COMMAND [ARG...]      e.g. test/vm/run.sh test/vm/suite.sh
#   VM_ACCEL=kvm|tcg   skip the probe; by default KVM is used only if a probe boot under KVM reaches the kernel
#                      within VM_KVM_PROBE_SECONDS (10): /dev/kvm can exist on a host whose CPU has no usable
#                      virtualisation (nested, no vmx), and then a KVM guest hangs instead of failing.
#   VM_MEMORY (MiB, 4096), VM_CPUS (2), VM_TIMEOUT (seconds, 1800)
# The console goes to stdout; a copy stays in .run/vm/console.log. A VM that cannot boot (no qemu, no kernel, no
# exit status written back) is a failure with a message, never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "test/vm/run.sh: qemu-system-x86_64 is missing (test/vm/build.sh installs it)" >&2; exit 1; }
vm_dir=$(bash test/vm/build.sh)

mkdir -p .run/vm
rm -f .run/vm/exit-code
{
  echo "cd /project"
  printf 'export CI=%q\n' "${CI:-}"
  printf '%q ' "$@"; echo
} >.run/vm/command.sh

qemu_base=(qemu-system-x86_64 -nographic -no-reboot -nodefaults -serial stdio -kernel "$vm_dir/vmlinuz")
append="console=ttyS0 panic=-1 quiet loglevel=4"

accel=${VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
    # No initrd: the kernel panics at once looking for a root filesystem, and panic=-1 ends qemu.
    if timeout "${VM_KVM_PROBE_SECONDS:-10}" "${qemu_base[@]}" -accel kvm -m 256 -append "$append" 2>&1 \
        | grep -q "Kernel panic"; then
      accel=kvm
    fi
  fi
fi
cpu=max
[ "$accel" = kvm ] && cpu=host
echo "vm: booting with $accel (kernel $(cat "$vm_dir/kernel-release"))" >&2

rc=0
timeout "${VM_TIMEOUT:-1800}" "${qemu_base[@]}" -accel "$accel" -cpu "$cpu" -smp "${VM_CPUS:-2}" -m "${VM_MEMORY:-4096}" \
  -initrd "$vm_dir/rootfs.cpio" -append "$append rdinit=/init" \
  -virtfs "local,path=$PWD,mount_tag=project,security_model=passthrough,id=project" \
  -nic none 2>&1 | tee .run/vm/console.log || rc=$?
if [ ! -f .run/vm/exit-code ]; then
  echo "test/vm/run.sh: the VM ended without writing back an exit status (qemu/timeout status $rc); see .run/vm/console.log" >&2
  exit 1
fi
exit "$(cat .run/vm/exit-code)"
