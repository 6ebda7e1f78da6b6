#!/usr/bin/env bash
# Builds Temporal's time-skipping test server (the fast workflow tests' server) from Maven Central
# once, and prints the path of its launcher. @temporalio/testing would download the same server
# from GitHub, which is not always reachable; sdk-java publishes it as io.temporal:temporal-test-server.
#   cache: ${XDG_CACHE_HOME:-$HOME/.cache}/patchbay/temporal-test-server-<version>/
#          (lib/*.jar, the launcher `temporal-test-server`, and the recipe it was built from)
# Rebuilt only when the recipe (this version and pom) changes; cold ~10 s (39 jars, 38 MB), warm ~10 ms.
# Needs java (17+) and mvn (scripts/bootstrap.sh installs Debian's default-jre-headless and maven).
# The SDK runs the launcher as `<launcher> <port>` plus any extraArgs; the Java main class takes
# `<port> [--enable-time-skipping]`, and the TS SDK drives time skipping itself (lock/unlock).
set -euo pipefail

VERSION="1.38.0" # sdk-java release (the newest 1.x on Maven Central); @temporalio/testing 1.24 drives it
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/patchbay"
DIR="$CACHE/temporal-test-server-$VERSION"
LAUNCHER="$DIR/temporal-test-server"

die() { printf 'build-test-server: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'build-test-server: %s\n' "$*" >&2; }

POM="<project xmlns=\"http://maven.apache.org/POM/4.0.0\">
  <modelVersion>4.0.0</modelVersion>
  <groupId>patchbay</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>"
RECIPE="$(printf '%s\n%s\n' "$VERSION" "$POM" | sha256sum | cut -c1-16)"

if [ -x "$LAUNCHER" ] && [ "$(cat "$DIR/.recipe" 2>/dev/null)" = "$RECIPE" ]; then
  echo "$LAUNCHER"
  exit 0
fi

command -v java >/dev/null || die "java is missing (apt-get install default-jre-headless, or run scripts/bootstrap.sh)"
command -v mvn >/dev/null || die "mvn is missing (apt-get install maven, or run scripts/bootstrap.sh)"

say "building temporal-test-server $VERSION from Maven Central into $DIR (once)"
mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/.temporal-test-server.XXXXXX")"
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$POM" > "$work/pom.xml"
(cd "$work" && mvn -q -B -Dstyle.color=never -f pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib") >&2 \
  || die "mvn dependency:copy-dependencies failed (needs Maven Central)"
ls "$work/lib"/temporal-test-server-*.jar >/dev/null 2>&1 || die "no temporal-test-server jar in $work/lib"
cat > "$work/temporal-test-server" <<LAUNCH
#!/bin/sh
# Temporal's test server $VERSION (io.temporal:temporal-test-server), for @temporalio/testing's 'existing-path'.
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -cp '$DIR/lib/*' io.temporal.testserver.TestServer "\$@"
LAUNCH
chmod +x "$work/temporal-test-server"
echo "$RECIPE" > "$work/.recipe"
rm -rf "$DIR"
mv "$work" "$DIR"
trap - EXIT
echo "$LAUNCHER"
