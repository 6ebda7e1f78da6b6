#!/bin/bash
# Runs on the build host with the image's root filesystem as $1, after the packages are installed.
# Debian's sample configuration has a stats socket but no frontend: a container started without a
# configuration would look healthy and route nothing. Without it, the entrypoint says what is missing.
set -euo pipefail
rm -f "${1:?}/etc/haproxy/haproxy.cfg"
