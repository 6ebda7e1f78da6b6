#!/usr/bin/env bash
# Builds the real OpenStack images (Debian bookworm's packages, and trixie's Keystone 27) that
# Patchbay's end-to-end tests and demo run, building only what is missing or whose recipe changed.
# There is no registry here, so nothing is pulled: every image is a Debian root filesystem made with
# debootstrap, packages installed in a chroot, then `docker import`ed. See images/README.md.
#
#   scripts/build-openstack-images.sh              # every image
#   scripts/build-openstack-images.sh keystone     # only images whose name is given
#   scripts/build-openstack-images.sh keystone:27  # only the image of LATEST_SPECS with that alias
#   scripts/build-openstack-images.sh --list       # the tags this script makes, one a line
#   PATCHBAY_IMAGES_FORCE=1 scripts/...            # rebuild even if the recipe hash matches
#
# Cold (nothing cached): ~7 min on 2 cores. Warm (all images present): under a second.
# Needs root, debootstrap, a Docker engine and Debian's mirrors (deb.debian.org).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_SRC="$ROOT/images"
# Cached filesystems outlive the work tree: CI clones the repo fresh but runs on the same machine.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/patchbay/rootfs"
# Chroots need a real disk (device nodes, a few GB); /tmp may be small or a tmpfs.
WORK="${PATCHBAY_IMAGES_WORKDIR:-/var/tmp/patchbay-images}"
MIRROR="http://deb.debian.org/debian"
SECURITY_MIRROR="http://deb.debian.org/debian-security"
SUITE="bookworm"
# Bump to force every image to rebuild when something outside the hashed inputs changes.
RECIPE_REV="1"

# One image per line: NAME  DEBIAN_VERSION  PARENT  PINNED_PACKAGES  [EXTRA_PACKAGES]  [USER:UID]
#   - the tag is DEBIAN_VERSION without its epoch, '+' made '-' (patchbay/keystone:22.0.2-0-deb12u3)
#   - PINNED_PACKAGES (comma-separated) are installed at exactly DEBIAN_VERSION: a source package's
#     binaries depend on each other with '=', and apt will not pick a non-candidate version by itself
#   - PARENT is `minbase` (debootstrap only) or `openstack` (minbase + the Python/OpenStack libraries
#     keystone, glance and placement share, installed once: it halves each service's install)
#   - USER:UID is created with a fixed id before the package's postinst would pick one, so that
#     volumes (Fernet keys, MariaDB data) keep their owner when an instance moves to another version
# Debian keeps only the newest version of each suite in the archive: when a point release or a
# security update replaces one of these, the build stops and names it; change the line then.
IMAGE_SPECS=(
  "keystone       2:22.0.2-0+deb12u3   openstack keystone,python3-keystone                     -  keystone:950"
  "keystone       2:22.0.2-0+deb12u6   openstack keystone,python3-keystone                     -  keystone:950"
  "glance-api     2:25.1.0-2+deb12u3   openstack glance-api,glance-common,python3-glance       -  glance:951"
  "glance-api     2:25.1.0-2+deb12u5   openstack glance-api,glance-common,python3-glance       -  glance:951"
  "placement-api  8.0.0-2              openstack placement-api,placement-common,python3-placement -  placement:952"
  "mariadb        1:10.11.19-0+deb12u1 minbase   mariadb-server,mariadb-server-core,mariadb-client,mariadb-client-core busybox mysql:953"
  "haproxy        2.6.12-1+deb12u4     minbase   haproxy                                       socat  haproxy:954"
)
# Extra tags made from an image's filesystem with different settings: NAME DEBIAN_VERSION SUFFIX ENV=VALUE
# The "bad patch" for tests: the same Keystone, started with a configuration it cannot load.
IMAGE_VARIANTS=(
  "keystone 2:22.0.2-0+deb12u6 broken KEYSTONE_BREAK=1"
)
# Images of whatever version a suite offers when they are built, one per line:
#   NAME  SUITE  VERSION_GLOB  ALIAS  PINNED_PACKAGES  EXTRA_PACKAGES  USER:UID  ADDONS
#   - Debian's archive keeps only a suite's newest version, so none is written here: the build asks
#     the suite (apt-cache policy's candidate of the first pinned package), stops unless it matches
#     VERSION_GLOB (a bash pattern), installs the pinned packages at exactly that version
#   - two tags on one image: the version's, by the rule above (patchbay/keystone:27.0.0-3-deb13u6),
#     and the fixed patchbay/NAME:ALIAS (patchbay/keystone:27) that tests and records name; the
#     version is in its labels (io.patchbay.packages) and its ENV PATCHBAY_IMAGE
#   - the parent is SUITE's own minbase filesystem (no shared OpenStack layer for a single image)
#   - ADDONS: a folder of images/ whose files are installed into /usr/local/bin (- for none)
#   - the resolved version is not part of the recipe hash: a warm run asks no mirror and reuses the
#     image; PATCHBAY_IMAGES_FORCE=1 or a recipe change builds whatever the suite offers by then
LATEST_SPECS=(
  "keystone  trixie  2:27.*  27  keystone,python3-keystone  uwsgi-core,uwsgi-plugin-python3,python3-pymysql,procps  keystone:950  keystone-db"
)
# Top-level packages of the shared `openstack` filesystem; apt pulls their dependencies. Chosen from
# the intersection of what keystone, glance-api and placement-api install (about 200 packages).
OPENSTACK_BASE_PACKAGES="python3 uwsgi-core uwsgi-plugin-python3 python3-pymysql python3-sqlalchemy
  python3-alembic python3-migrate python3-keystonemiddleware python3-keystoneclient python3-openstackclient
  python3-oslo.cache python3-oslo.concurrency python3-oslo.config python3-oslo.db python3-oslo.log
  python3-oslo.messaging python3-oslo.middleware python3-oslo.policy python3-oslo.serialization
  python3-oslo.service python3-oslo.upgradecheck python3-oslo.utils python3-osprofiler python3-pastedeploy
  python3-routes python3-webob python3-jsonschema python3-cryptography python3-eventlet python3-futurist
  python3-tenacity python3-kombu python3-cffi dbconfig-common procps"

say() { printf 'build-openstack-images: %s\n' "$*" >&2; }
die() { printf 'build-openstack-images: ERROR: %s\n' "$*" >&2; exit 1; }
tag_of() { local v="${1#*:}"; printf '%s' "${v//+/-}"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
sha() { sha256sum | cut -c1-16; }

# --- arguments -------------------------------------------------------------------------------
ONLY=()
for arg in "$@"; do
  case "$arg" in
    --list)
      for spec in "${IMAGE_SPECS[@]}"; do read -r n v _ <<<"$spec"; echo "patchbay/$n:$(tag_of "$v")"; done
      for var in "${IMAGE_VARIANTS[@]}"; do read -r n v s _ <<<"$var"; echo "patchbay/$n:$(tag_of "$v")-$s"; done
      # The alias always; the version's tag once an image was built (it depends on the day of the build).
      for spec in "${LATEST_SPECS[@]}"; do
        read -r n _ _ a _ <<<"$spec"; echo "patchbay/$n:$a"
        docker image inspect -f '{{ range .Config.Env }}{{ println . }}{{ end }}' "patchbay/$n:$a" 2>/dev/null \
          | sed -n 's/^PATCHBAY_IMAGE=//p' || true
      done
      exit 0 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) ONLY+=("$arg") ;;
  esac
done
wanted() { [ "${#ONLY[@]}" = 0 ] && return 0; local o; for o in "${ONLY[@]}"; do [ "$o" = "$1" ] && return 0; done; return 1; }
NAMES=" "; for spec in "${IMAGE_SPECS[@]}"; do read -r n _ <<<"$spec"; [[ "$NAMES" == *" $n "* ]] || NAMES+="$n "; done
for spec in "${LATEST_SPECS[@]}"; do read -r n _ _ a _ <<<"$spec"; [[ "$NAMES" == *" $n "* ]] || NAMES+="$n "; NAMES+="$n:$a "; done
for o in "${ONLY[@]}"; do [[ "$NAMES" == *" $o "* ]] || die "no image named '$o' (names:$NAMES)"; done

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"
docker version >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || die "debootstrap is needed (a Debian host: apt-get install debootstrap)"
  say "apt-get install debootstrap"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } >/dev/null \
    || die "apt-get install debootstrap failed"
fi
mkdir -p "$CACHE" "$WORK"
# Two builds at once (CI and a demo) would share the work dir and race on the cache.
exec 9>"$CACHE/.lock"
flock -w 1800 9 || die "another build holds $CACHE/.lock"

# --- chroot handling -------------------------------------------------------------------------
# Every directory we may have mounted into is remembered so that a failure or ^C never leaves a
# mount behind, and removal never crosses a mount point (rm --one-file-system): a forgotten bind
# mount must not turn `rm -rf` into deleting the host's files.
MOUNTED=()
WORKDIRS=()
release() { local d="$1"; mountpoint -q "$d/proc" && umount -l "$d/proc"; return 0; }
remove_dir() { release "$1"; rm -rf --one-file-system "$1"; }
cleanup() {
  local d
  for d in "${MOUNTED[@]}"; do release "$d"; done
  for d in "${WORKDIRS[@]}"; do [ -d "$d" ] && rm -rf --one-file-system "$d"; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sets WORKDIR (not printed: a $(...) subshell would lose the WORKDIRS entry the cleanup needs).
new_workdir() {
  WORKDIR="$WORK/$1"
  remove_dir "$WORKDIR" 2>/dev/null || true
  rm -f "$WORKDIR".*.log # kept by a failed run for reading, stale now
  mkdir -p "$WORKDIR"
  WORKDIRS+=("$WORKDIR")
}
# Postinst scripts want /proc (uwsgi, mariadb) and DNS; nothing else from the host.
enter() {
  local d="$1"
  mountpoint -q "$d/proc" || mount -t proc proc "$d/proc"
  MOUNTED+=("$d")
  cp /etc/resolv.conf "$d/etc/resolv.conf"
}
in_root() {
  local d="$1"; shift
  chroot "$d" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"
}
# What is left in the filesystem after an install: apt's lists and caches are large and stale by the
# next run; Docker bind-mounts its own resolv.conf.
leave() {
  local d="$1"
  in_root "$d" apt-get clean
  rm -rf "$d"/var/lib/apt/lists/* "$d"/var/cache/apt/*.bin "$d"/var/cache/debconf/*-old \
    "$d"/var/log/apt/* "$d"/var/log/dpkg.log "$d"/var/log/alternatives.log "$d"/root/.cache
  : >"$d/etc/resolv.conf"
  release "$d"
}
save_tar() { # DIR TARBALL: atomically, so an interrupted run never leaves a half tarball to reuse
  tar -C "$1" --numeric-owner --one-file-system -cf "$2.part" . && mv "$2.part" "$2"
}
load_tar() { tar -C "$2" --numeric-owner -xpf "$1"; }
apt_update() {
  in_root "$1" apt-get update -q -o Acquire::Retries=3 >"$1.apt-update.log" 2>&1 \
    || { cat "$1.apt-update.log" >&2; die "apt-get update failed in $1"; }
  rm -f "$1.apt-update.log"
}
apt_install() { # DIR LOG PACKAGE...
  local d="$1" log="$2"; shift 2
  in_root "$d" apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 "$@" >"$log" 2>&1 \
    || { tail -40 "$log" >&2; die "apt-get install $* failed (full log: $log)"; }
}

# --- stage 1: the minimal root filesystem of a suite (debootstrap, once) -------------------------
make_minbase() {
  local d="$1"
  debootstrap --variant=minbase "$SUITE" "$d" "$MIRROR" >"$d.debootstrap.log" 2>&1 \
    || { tail -30 "$d.debootstrap.log" >&2; die "debootstrap failed (log: $d.debootstrap.log)"; }
  rm -f "$d.debootstrap.log"
  cat >"$d/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  # As Debian's own container images do: no recommends, no documentation, no translations.
  cat >"$d/etc/apt/apt.conf.d/90patchbay" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  cat >"$d/etc/dpkg/dpkg.cfg.d/90patchbay-slim" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOF
  # Packages' postinst must not start daemons in the chroot (they would run on the host).
  printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d"
  chmod 755 "$d/usr/sbin/policy-rc.d"
  rm -rf "$d"/usr/share/doc/*/[!c]* "$d"/usr/share/man/* "$d"/usr/share/locale/* "$d"/var/cache/apt/archives/*.deb
}
# One cached filesystem per suite: make_minbase reads $SUITE, so trixie's is made by the same recipe.
minbase_hash() { { echo "$RECIPE_REV $1 $MIRROR $SECURITY_MIRROR"; declare -f make_minbase; } | sha; }
minbase_tar() { printf '%s/%s-minbase-%s.tar' "$CACHE" "$1" "$(minbase_hash "$1")"; }
MINBASE_HASH="$(minbase_hash "$SUITE")"
MINBASE_TAR="$(minbase_tar "$SUITE")"

ensure_minbase() { # [SUITE], default bookworm
  local suite="${1:-$SUITE}" tarball; tarball="$(minbase_tar "$suite")"
  [ -f "$tarball" ] && return 0
  local t0 d; t0="$(now)"
  say "debootstrap --variant=minbase $suite (once; cached in $CACHE)"
  new_workdir "minbase-$suite"; d="$WORKDIR"
  rmdir "$d" # debootstrap wants to create it
  SUITE="$suite" make_minbase "$d"
  save_tar "$d" "$tarball"
  remove_dir "$d"
  find "$CACHE" -maxdepth 1 -name "$suite-minbase-*.tar" ! -name "$(basename "$tarball")" -delete
  say "$suite minbase root filesystem: $(since "$t0") s"
}

# --- stage 2: the shared OpenStack filesystem ---------------------------------------------------
make_openstack_base() {
  local d="$1"
  enter "$d"
  apt_update "$d"
  # shellcheck disable=SC2086 # a word list on purpose
  apt_install "$d" "$d.install.log" $OPENSTACK_BASE_PACKAGES
  rm -f "$d.install.log"
  leave "$d"
}
OPENSTACK_HASH="$( { echo "$MINBASE_HASH $OPENSTACK_BASE_PACKAGES"; declare -f make_openstack_base apt_install leave; } | sha)"
OPENSTACK_TAR="$CACHE/openstack-base-$OPENSTACK_HASH.tar"

ensure_openstack_base() {
  [ -f "$OPENSTACK_TAR" ] && return 0
  ensure_minbase
  local t0 d; t0="$(now)"
  say "openstack-base: python3, uWSGI and the shared OpenStack libraries (once; cached)"
  new_workdir openstack-base; d="$WORKDIR"
  load_tar "$MINBASE_TAR" "$d"
  make_openstack_base "$d"
  save_tar "$d" "$OPENSTACK_TAR"
  remove_dir "$d"
  find "$CACHE" -maxdepth 1 -name 'openstack-base-*.tar' ! -name "$(basename "$OPENSTACK_TAR")" -delete
  say "openstack-base filesystem: $(since "$t0") s"
}

# --- stage 3: one image per service and version ------------------------------------------------
# Installs NAME's pinned packages into DIR and checks that exactly VERSION got installed.
install_service() {
  local d="$1" name="$2" version="$3" pinned="$4" extra="$5" user="$6" p candidates
  enter "$d"
  if [ "$user" != - ]; then
    # System range (<1000): Debian's `adduser --system` in the postinst accepts an existing system
    # user and refuses a normal one.
    in_root "$d" groupadd --system --gid "${user#*:}" "${user%%:*}"
    in_root "$d" useradd --system --uid "${user#*:}" --gid "${user#*:}" --no-create-home \
      --home-dir "/var/lib/${user%%:*}" --shell /usr/sbin/nologin "${user%%:*}"
  fi
  apt_update "$d"
  local args=()
  for p in ${pinned//,/ }; do
    # apt-cache policy lists every version the configured suites offer.
    candidates="$(in_root "$d" apt-cache policy "$p")"
    grep -qE "^ +(\*\*\* )?$(printf '%s' "$version" | sed 's/[.+]/\\&/g') " <<<"$candidates" \
      || { printf '%s\n' "$candidates" >&2; die "$p $version is not in Debian's archive any more: update IMAGE_SPECS"; }
    args+=("$p=$version")
  done
  if [ "$extra" != - ]; then local extras; IFS=, read -ra extras <<<"$extra"; args+=("${extras[@]}"); fi
  apt_install "$d" "$d.install.log" "${args[@]}"
  rm -f "$d.install.log"
  for p in ${pinned//,/ }; do
    local got; got="$(in_root "$d" dpkg-query -W -f "\${Version}" "$p")"
    [ "$got" = "$version" ] || die "$p: installed $got, wanted $version"
  done
  # The entrypoint and the helpers it sources; configuration is written by the entrypoint at start.
  install -D -m 755 "$IMAGES_SRC/$name/entrypoint.sh" "$d/usr/local/bin/patchbay-entrypoint"
  install -D -m 644 "$IMAGES_SRC/lib/entrypoint-lib.sh" "$d/usr/local/lib/patchbay/entrypoint-lib.sh"
  [ ! -x "$IMAGES_SRC/$name/prepare.sh" ] || "$IMAGES_SRC/$name/prepare.sh" "$d"
  leave "$d"
}

# The recipe of one image: anything that changes its filesystem or its settings changes this hash.
image_hash() { # NAME VERSION PARENT_HASH SPEC
  {
    echo "$RECIPE_REV|$3|$4"
    declare -f install_service apt_install leave enter in_root
    cat "$IMAGES_SRC/lib/entrypoint-lib.sh"
    find "$IMAGES_SRC/$1" -type f -print0 | sort -z | xargs -0 cat
  } | sha
}
label_of() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

docker_import() { # DIR TAG HASH PACKAGES NAME ENV...
  local d="$1" tag="$2" hash="$3" pkgs="$4" name="$5"; shift 5
  local changes=(
    -c 'ENTRYPOINT ["/usr/local/bin/patchbay-entrypoint"]'
    -c 'CMD ["serve"]'
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    -c 'ENV LANG=C.UTF-8'
    -c "ENV PATCHBAY_IMAGE=$tag"
    -c 'LABEL io.patchbay.openstack=1'
    -c "LABEL io.patchbay.image-hash=$hash"
    -c "LABEL io.patchbay.packages=$pkgs"
    -c "LABEL io.patchbay.service=$name"
  )
  local e; for e in "$@"; do changes+=(-c "ENV $e"); done
  tar -C "$d" --numeric-owner --one-file-system -c . | docker import "${changes[@]}" - "$tag" >/dev/null
}

REPORT=()
REBUILT=0
build_one() { # one IMAGE_SPECS line
  local name version parent pinned extra user
  read -r name version parent pinned extra user <<<"$1"
  local tag; tag="patchbay/$name:$(tag_of "$version")"
  local parent_hash=$MINBASE_HASH; [ "$parent" = openstack ] && parent_hash=$OPENSTACK_HASH
  local hash; hash="$(image_hash "$name" "$version" "$parent_hash" "$1")"
  local variants=() var vn vv vs venv
  for var in "${IMAGE_VARIANTS[@]}"; do
    read -r vn vv vs venv <<<"$var"
    [ "$vn" = "$name" ] && [ "$vv" = "$version" ] && variants+=("$vs $venv $(printf '%s' "$hash $vs $venv" | sha)")
  done
  local missing=0
  [ "$(label_of "$tag" io.patchbay.image-hash)" = "$hash" ] || missing=1
  local vhash
  for var in "${variants[@]}"; do
    read -r vs venv vhash <<<"$var"
    [ "$(label_of "$tag-$vs" io.patchbay.image-hash)" = "$vhash" ] || missing=1
  done
  if [ "$missing" = 0 ] && [ -z "${PATCHBAY_IMAGES_FORCE:-}" ]; then
    REPORT+=("$tag reused")
    for var in "${variants[@]}"; do REPORT+=("$tag-${var%% *} reused"); done
    return 0
  fi
  if [ "$parent" = openstack ]; then ensure_openstack_base; else ensure_minbase; fi
  local t0 d pkgs; t0="$(now)"
  say "building $tag"
  new_workdir "$name-$(tag_of "$version")"; d="$WORKDIR"
  if [ "$parent" = openstack ]; then load_tar "$OPENSTACK_TAR" "$d"; else load_tar "$MINBASE_TAR" "$d"; fi
  install_service "$d" "$name" "$version" "$pinned" "$extra" "$user"
  pkgs="$(for p in ${pinned//,/ }; do printf '%s=%s,' "$p" "$version"; done)"
  docker_import "$d" "$tag" "$hash" "${pkgs%,}" "$name"
  for var in "${variants[@]}"; do
    read -r vs venv vhash <<<"$var"
    docker_import "$d" "$tag-$vs" "$vhash" "${pkgs%,}" "$name" "$venv"
  done
  remove_dir "$d"
  local took; took="$(since "$t0")"
  say "built $tag in $took s"
  REPORT+=("$tag built in ${took} s")
  for var in "${variants[@]}"; do REPORT+=("$tag-${var%% *} built (same filesystem)"); done
  REBUILT=1
}

# --- stage 3b: images of a suite's newest version (LATEST_SPECS) ----------------------------------
# The candidate version of PACKAGE in DIR's suite, after an apt-get update there.
candidate_of() { in_root "$1" apt-cache policy "$2" | awk '$1 == "Candidate:" { print $2 }'; }
# Fills DIR (SUITE's minbase) for one LATEST_SPECS line: resolves the version, then installs it as
# install_service does for a pinned one, then the ADDONS. Sets VERSION.
install_latest() { # DIR SPEC
  local d="$1" name suite glob alias pinned extra user addons f
  read -r name suite glob alias pinned extra user addons <<<"$2"
  enter "$d"
  apt_update "$d"
  VERSION="$(candidate_of "$d" "${pinned%%,*}")"
  # shellcheck disable=SC2053 # a pattern on purpose
  [[ -n "$VERSION" && "$VERSION" != "(none)" && "$VERSION" == $glob ]] \
    || die "$suite offers ${pinned%%,*} '${VERSION:-nothing}', not $glob: update LATEST_SPECS"
  say "$suite offers ${pinned%%,*} $VERSION"
  install_service "$d" "$name" "$VERSION" "$pinned" "$extra" "$user"
  if [ "$addons" != - ]; then
    for f in "$IMAGES_SRC/$addons"/*; do install -D -m 755 "$f" "$d/usr/local/bin/$(basename "$f")"; done
  fi
}
latest_hash() { # SPEC PARENT_HASH
  local name addons; read -r name _ _ _ _ _ _ addons <<<"$1"
  {
    echo "$RECIPE_REV|$2|$1"
    declare -f install_latest candidate_of install_service apt_install apt_update leave enter in_root
    cat "$IMAGES_SRC/lib/entrypoint-lib.sh"
    find "$IMAGES_SRC/$name" -type f -print0 | sort -z | xargs -0 cat
    [ "$addons" = - ] || find "$IMAGES_SRC/$addons" -type f -print0 | sort -z | xargs -0 cat
  } | sha
}
# The exact tag of an image (its ENV PATCHBAY_IMAGE), empty when there is no such image.
exact_tag_of() { docker image inspect -f '{{ range .Config.Env }}{{ println . }}{{ end }}' "$1" 2>/dev/null | sed -n 's/^PATCHBAY_IMAGE=//p'; }
image_id() { docker image inspect -f '{{ .Id }}' "$1" 2>/dev/null || true; }

build_latest() { # one LATEST_SPECS line
  local name suite glob alias pinned extra user addons
  read -r name suite glob alias pinned extra user addons <<<"$1"
  local alias_tag="patchbay/$name:$alias" hash tag
  hash="$(latest_hash "$1" "$(minbase_hash "$suite")")"
  if [ "$(label_of "$alias_tag" io.patchbay.image-hash)" = "$hash" ] && [ -z "${PATCHBAY_IMAGES_FORCE:-}" ]; then
    tag="$(exact_tag_of "$alias_tag")"
    # The version's tag is the same image: put it back if it was removed or moved.
    [ "$(image_id "$tag")" = "$(image_id "$alias_tag")" ] || docker tag "$alias_tag" "$tag"
    REPORT+=("$tag reused" "$alias_tag reused (= $tag)")
    return 0
  fi
  ensure_minbase "$suite"
  local t0 d pkgs; t0="$(now)"
  say "building $alias_tag ($suite's ${pinned%%,*})"
  new_workdir "$name-$suite"; d="$WORKDIR"
  load_tar "$(minbase_tar "$suite")" "$d"
  install_latest "$d" "$1"
  tag="patchbay/$name:$(tag_of "$VERSION")"
  pkgs="$(for p in ${pinned//,/ }; do printf '%s=%s,' "$p" "$VERSION"; done)"
  docker_import "$d" "$tag" "$hash" "${pkgs%,}" "$name"
  docker tag "$tag" "$alias_tag"
  remove_dir "$d"
  local took; took="$(since "$t0")"
  say "built $tag (= $alias_tag) in $took s"
  REPORT+=("$tag built in ${took} s" "$alias_tag built (= $tag)")
  REBUILT=1
}

T0="$(now)"
for spec in "${IMAGE_SPECS[@]}"; do
  read -r n _ <<<"$spec"
  wanted "$n" && build_one "$spec"
done
for spec in "${LATEST_SPECS[@]}"; do
  read -r n _ _ a _ <<<"$spec"
  if wanted "$n" || wanted "$n:$a"; then build_latest "$spec"; fi
done
# Older builds of a tag, untagged by a rebuild, are garbage (same label as ours, no tag left).
[ "$REBUILT" = 0 ] || docker image prune -f --filter label=io.patchbay.openstack=1 >/dev/null
for line in "${REPORT[@]}"; do
  read -r tag _ <<<"$line"
  printf '%-52s %8s  %s\n' "$tag" "$(docker image inspect -f '{{ .Size }}' "$tag" | awk '{ printf "%d MB", $1/1e6 }')" "${line#* }"
done
say "done in $(since "$T0") s"
