#!/bin/sh
# The container's entrypoint (deploy/Dockerfile), run under tini as pid 1's
# child: makes the cgroup hierarchy writable, says how to pass API keys when
# none are set, then execs `soulbox serve` (or any other soulbox command).
#   docker run ... soulbox/soulbox            -> soulbox serve --config $SOULBOX_CONFIG
#   docker run ... soulbox/soulbox serve --port 9000
#   docker run ... soulbox/soulbox run -l python /dev/stdin
set -eu
CONFIG=${SOULBOX_CONFIG:-/etc/soulbox/soulbox.yaml}

# Docker mounts /sys/fs/cgroup (v1: each controller; v2: the one hierarchy)
# read-only; SoulBox makes a cgroup per sandbox below its own. Remounting
# needs CAP_SYS_ADMIN, which the sandboxes' namespaces need anyway.
cgroups_rw() {
    failed=$(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts |
        while read -r m; do
            [ -w "$m" ] || mount -o remount,bind,rw "$m" 2>/dev/null || printf ' %s' "$m"
        done)
    [ -z "$failed" ] ||
        echo "soulbox-entrypoint: cannot make the cgroup hierarchy writable ($failed ): run the container with --cap-add SYS_ADMIN (docs/deploy.md)" >&2
}

if [ "${1:-serve}" = serve ]; then
    [ $# -gt 0 ] && shift
    cgroups_rw
    # the image's own config (no keys in it) and no keys from the environment
    if [ -z "${SOULBOX_API_KEYS:-}" ] && [ "${SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE:-}" != true ] &&
       cmp -s "$CONFIG" /usr/share/soulbox/soulbox.yaml; then
        cat >&2 <<'HINT'
soulbox-entrypoint: no API keys. SoulBox listens on the container's interfaces
and refuses to do so without keys: anyone who reaches the port could run code.
Pass keys (id:secret, comma-separated) and use them as "Authorization: Bearer <secret>":
    docker run ... -e SOULBOX_API_KEYS=me:$(openssl rand -hex 24) soulbox/soulbox
or a config file with server.auth.keys (-v ./soulbox.yaml:/etc/soulbox/soulbox.yaml:ro),
or, on a network only you can reach, opt out:
    docker run ... -e SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE=true soulbox/soulbox
HINT
    fi
    exec /usr/local/bin/soulbox serve --config "$CONFIG" "$@"
fi
exec /usr/local/bin/soulbox "$@"
