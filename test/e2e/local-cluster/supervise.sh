#!/usr/bin/env bash
# supervise.sh COMMAND...: runs COMMAND and starts it again a second after it exits, as kubelet restarts a container
# of a pod (restartPolicy Always). The sidecars rely on that: each one exits when it loses its connection to the
# driver, and a restarted driver must find them again. SIGTERM stops COMMAND (waiting for it) and then the loop.
# The current COMMAND's pid is written to $SUPERVISE_CHILD_FILE, so a test can kill just it (a crash).
child=""
stop() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 0
}
trap stop TERM INT
while :; do
  "$@" &
  child=$!
  [ -z "${SUPERVISE_CHILD_FILE:-}" ] || echo "$child" > "$SUPERVISE_CHILD_FILE"
  wait "$child"
  echo "supervise.sh: $1 (pid $child) exited with status $?; starting it again in 1s"
  child=""
  sleep 1
done
