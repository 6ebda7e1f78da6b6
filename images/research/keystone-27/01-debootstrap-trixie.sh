#!/bin/bash
# Step 1: debootstrap --variant=minbase trixie, same mirror and slimming as the project's make_minbase.
# Output: /tmp/pb/trixie/work/trixie-minbase.tar
set -euo pipefail
W=/tmp/pb/trixie/work
MIRROR=http://deb.debian.org/debian
SECURITY_MIRROR=http://deb.debian.org/debian-security
SUITE=trixie
d=$W/minbase
rm -rf --one-file-system "$d"
t0=$(date +%s.%N)
nice -n 10 timeout 900 debootstrap --variant=minbase "$SUITE" "$d" "$MIRROR" >"$W/debootstrap.log" 2>&1 \
  || { tail -30 "$W/debootstrap.log"; exit 1; }
t1=$(date +%s.%N)
cat >"$d/etc/apt/sources.list" <<EOT
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOT
# trixie's debootstrap writes sources.list; a deb822 debian.sources may also exist: keep only ours
ls "$d/etc/apt/sources.list.d/" || true
cat >"$d/etc/apt/apt.conf.d/90patchbay" <<'EOT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOT
cat >"$d/etc/dpkg/dpkg.cfg.d/90patchbay-slim" <<'EOT'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOT
printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d"
chmod 755 "$d/usr/sbin/policy-rc.d"
rm -rf "$d"/usr/share/doc/*/[!c]* "$d"/usr/share/man/* "$d"/usr/share/locale/* "$d"/var/cache/apt/archives/*.deb
tar -C "$d" --numeric-owner --one-file-system -cf "$W/trixie-minbase.tar" .
t2=$(date +%s.%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 'BEGIN{printf "debootstrap: %.1f s, slim+tar: %.1f s\n", b-a, c-b}'
ls -la "$W/trixie-minbase.tar"; du -sh "$d"
cat "$d/etc/debian_version"
