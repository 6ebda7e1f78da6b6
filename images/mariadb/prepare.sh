#!/bin/bash
# Runs on the build host with the image's root filesystem as $1, after the packages are installed.
# Debian's postinst initialises /var/lib/mysql; an image must ship it empty, or Docker would copy
# that database (and its users) into every new named volume, and the entrypoint would not
# initialise it the way the environment asks.
set -euo pipefail
rm -rf "${1:?}"/var/lib/mysql/* "$1"/var/log/mysql/*
