#!/bin/sh
# Container entrypoint for Job.Silo: resolves Orleans__AdvertisedIP=auto (or unset) to this container's
# address, then execs the silo, so it becomes PID 1 and receives SIGTERM (docker stop, pod deletion) directly.
# Arguments are passed on: "run" (default), "migrate", "migrate --print", "--Key=Value" settings.
set -eu

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

exec dotnet /app/Job.Silo.dll "$@"
