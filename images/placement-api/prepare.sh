#!/bin/bash
# Runs on the build host with the image's root filesystem as $1, after the packages are installed.
# The configuration is delivered into the container or written by the entrypoint, never Debian's:
# its placement.conf is kept for reference only, so that a container started with neither fails and
# says what is missing.
set -euo pipefail
mkdir -p "${1:?}/usr/share/placement"
mv "$1/etc/placement/placement.conf" "$1/usr/share/placement/placement.conf.debian"
