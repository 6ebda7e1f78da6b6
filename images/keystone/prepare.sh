#!/bin/bash
# Runs on the build host with the image's root filesystem as $1, after the packages are installed.
# The configuration is delivered into the container or written by the entrypoint, never Debian's:
# its keystone.conf (SQLite, logs under /var/log) is kept for reference only, so that a container
# started with neither fails and says what is missing instead of serving Debian's defaults.
set -euo pipefail
mv "${1:?}/etc/keystone/keystone.conf" "$1/usr/share/keystone/keystone.conf.debian"
