#!/bin/sh
# Facturier's daily cycle in the container (issue 26): `run`, `batch`, `remind` on the
# workspace, every day at FACTURIER_DAILY_AT (HH:MM, local time of TZ), for ever; or once
# and exit with `--once` (CI, a manual catch-up). Nothing is downloaded: the image holds
# every package, Typst included (its PyPI wheel).
#
#   FACTURIER_WORKSPACE  the workspace (default /workspace, the image's volume)
#   FACTURIER_DAILY_AT   when to run each day (default 09:15: inside remind's default window)
#   FACTURIER_BIN        the facturier command (default: facturier on PATH)
#   FACTURIER_PYTHON     the Python that computes the wait (default: python3)
#
# A failing command is logged and the others still run (the catch-up rules make the next
# day safe); with --once the exit status is 1 if any failed.
set -u

WORKSPACE="${FACTURIER_WORKSPACE:-/workspace}"
AT="${FACTURIER_DAILY_AT:-09:15}"
BIN="${FACTURIER_BIN:-facturier}"
PYTHON="${FACTURIER_PYTHON:-python3}"
HERE=$(dirname "$(readlink -f "$0")")

log() { printf '%s daily.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

cycle() {
    failed=0
    for command in run batch remind; do
        log "facturier $command"
        # shellcheck disable=SC2086  # FACTURIER_BIN may hold a command and its arguments
        $BIN --workspace "$WORKSPACE" "$command"
        status=$?
        if [ "$status" -ne 0 ]; then
            log "facturier $command exited $status"
            failed=1
        fi
    done
    return "$failed"
}

seconds_until() {  # the wait until the next $1 (HH:MM) in the local time of TZ
    "$PYTHON" "$HERE/seconds_until.py" "$1"
}

if [ ! -f "$WORKSPACE/facturier.toml" ]; then
    log "$WORKSPACE is not a Facturier workspace (no facturier.toml): mount yours there"
    exit 2
fi

if [ "${1:-}" = "--once" ]; then
    cycle
    exit $?
fi

log "running the cycle every day at $AT (${TZ:-UTC}) on $WORKSPACE"
while :; do
    wait_for=$(seconds_until "$AT") || exit 2  # a bad FACTURIER_DAILY_AT or TZ, told on stderr
    log "next cycle in ${wait_for}s"
    sleep "$wait_for"
    cycle || true
done
