#!/bin/sh
# Container entrypoint for a Job worker: resolves Orleans__AdvertisedIP=auto (or unset) to this container's
# address, then execs the program published into /app (the one *.runtimeconfig.json there), so it becomes
# PID 1 and receives SIGTERM (docker stop, pod deletion) directly. Arguments are passed on: "--Key=Value"
# settings, and for Job.Silo its verbs ("run" by default, "migrate", "migrate --print").
set -eu

app=""
for config in /app/*.runtimeconfig.json; do
    [ -e "$config" ] || continue
    if [ -n "$app" ]; then
        echo "error: more than one program in /app ($app and ${config%.runtimeconfig.json}.dll)" >&2
        exit 1
    fi
    app="${config%.runtimeconfig.json}.dll"
done
if [ -z "$app" ]; then
    echo "error: no program in /app (no *.runtimeconfig.json): was the image built with deploy/docker/Dockerfile?" >&2
    exit 1
fi

if [ -z "${Orleans__AdvertisedIP:-}" ] || [ "${Orleans__AdvertisedIP}" = "auto" ]; then
    ip=""
    # hostname -i: the address(es) the container's own name resolves to (Docker/Kubernetes write /etc/hosts).
    if command -v hostname >/dev/null 2>&1; then
        for a in $(hostname -i 2>/dev/null || true); do
            case "$a" in 127.*|::1|*:*) ;; *) ip="$a"; break ;; esac
        done
    fi
    if [ -z "$ip" ] && command -v hostname >/dev/null 2>&1; then
        for a in $(hostname -I 2>/dev/null || true); do
            case "$a" in 127.*|*:*) ;; *) ip="$a"; break ;; esac
        done
    fi
    if [ -z "$ip" ]; then
        name="$(cat /proc/sys/kernel/hostname 2>/dev/null || cat /etc/hostname)"
        for a in $(getent ahostsv4 "$name" 2>/dev/null | cut -d' ' -f1 | sort -u); do
            case "$a" in 127.*) ;; *) ip="$a"; break ;; esac
        done
    fi
    if [ -z "$ip" ]; then
        echo "error: Orleans__AdvertisedIP=auto but this container's IP could not be found; set Orleans__AdvertisedIP to the address other silos reach this one at" >&2
        exit 1
    fi
    export Orleans__AdvertisedIP="$ip"
    echo "Orleans__AdvertisedIP=auto -> $ip"
fi

exec dotnet "$app" "$@"
