#!/bin/bash
# Step 2: a trixie Keystone image, built like scripts/build-openstack-images.sh builds the bookworm one
# (minbase tar -> chroot -> fixed keystone uid 950 -> apt-get install --no-install-recommends ->
#  project's entrypoint + lib + prepare.sh -> docker import with the same ENTRYPOINT/CMD/ENV).
# Labels are io.patchbay-research.* (NOT io.patchbay.openstack, so the project's prune never sees it).
set -euo pipefail
W=/tmp/pb/trixie/work
SRC=/work/main/images
TAG=${TAG:-patchbay-research/keystone:27}
d=$W/keystone27
release() { mountpoint -q "$d/proc" && umount -l "$d/proc"; return 0; }
trap release EXIT
in_root() { chroot "$d" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"; }
release; rm -rf --one-file-system "$d"; mkdir -p "$d"
t0=$(date +%s.%N)
tar -C "$d" --numeric-owner -xpf "$W/trixie-minbase.tar"
mount -t proc proc "$d/proc"
cp /etc/resolv.conf "$d/etc/resolv.conf"
in_root groupadd --system --gid 950 keystone
in_root useradd --system --uid 950 --gid 950 --no-create-home --home-dir /var/lib/keystone --shell /usr/sbin/nologin keystone
nice -n 10 timeout 300 chroot "$d" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
  apt-get update -q -o Acquire::Retries=3 >"$W/k27-update.log" 2>&1 || { cat "$W/k27-update.log"; exit 1; }
in_root apt-cache policy keystone python3-keystone python3-migrate uwsgi-plugin-python3 | tee "$W/k27-policy.txt"
VER=$(in_root apt-cache policy keystone | awk '/Candidate:/{print $2}')
echo "candidate keystone: $VER"
PKGS="keystone=$VER python3-keystone=$VER uwsgi-core uwsgi-plugin-python3 python3-pymysql procps"
t1=$(date +%s.%N)
nice -n 10 timeout 1200 chroot "$d" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 $PKGS >"$W/k27-install.log" 2>&1 \
  || { tail -60 "$W/k27-install.log"; exit 1; }
t2=$(date +%s.%N)
grep -E '^(Setting up|Unpacking)' "$W/k27-install.log" | wc -l
grep -iE 'warn|error|fail' "$W/k27-install.log" | head -20 || true
in_root dpkg-query -W keystone python3-keystone python3 python3-minimal uwsgi-core uwsgi-plugin-python3 python3-sqlalchemy python3-alembic python3-oslo.db python3-pymysql
in_root python3 --version
in_root dpkg-query -W | wc -l
install -D -m 755 "$SRC/keystone/entrypoint.sh" "$d/usr/local/bin/patchbay-entrypoint"
install -D -m 644 "$SRC/lib/entrypoint-lib.sh" "$d/usr/local/lib/patchbay/entrypoint-lib.sh"
ls -la "$d/etc/keystone/"
"$SRC/keystone/prepare.sh" "$d"
in_root apt-get clean
rm -rf "$d"/var/lib/apt/lists/* "$d"/var/cache/apt/*.bin "$d"/var/cache/debconf/*-old \
    "$d"/var/log/apt/* "$d"/var/log/dpkg.log "$d"/var/log/alternatives.log "$d"/root/.cache
: >"$d/etc/resolv.conf"
release
du -sh "$d"
tar -C "$d" --numeric-owner --one-file-system -c . | nice -n 10 docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/patchbay-entrypoint"]' -c 'CMD ["serve"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV LANG=C.UTF-8' \
    -c "ENV PATCHBAY_IMAGE=$TAG" -c 'LABEL io.patchbay-research=trixie' \
    -c "LABEL io.patchbay-research.packages=keystone=$VER,python3-keystone=$VER" - "$TAG"
t3=$(date +%s.%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 -v e=$t3 'BEGIN{printf "untar+update: %.1f s, install: %.1f s, clean+import: %.1f s, total: %.1f s\n", b-a, c-b, e-c, e-a}'
docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "image size: %d MB\n", $1/1e6}'
rm -rf --one-file-system "$d"
