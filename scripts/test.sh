#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind (Debian, root):
# installs what the tests need (redis-server, PostgreSQL, openssl), then runs every
# test with every feature. The Redis tests start their own redis-server on
# a free loopback port, the SQL tests their own PostgreSQL cluster (initdb
# into a temporary directory, as the `postgres` user when run as root), and
# stop them afterwards; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing redis-server (Debian package)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # The package starts a system service on 6379; the tests use their own.
fi
command -v redis-server >/dev/null || { echo "redis-server is still missing" >&2; exit 1; }
# The cluster tests join nodes with redis-cli (Debian's redis-tools, which
# redis-server pulls in); the TLS tests make a test CA with openssl.
for tool in redis-cli:redis-tools openssl:openssl; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    echo "== installing ${tool#*:} (Debian package)"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${tool#*:}" >/dev/null
  fi
  command -v "${tool%%:*}" >/dev/null || { echo "${tool%%:*} is still missing" >&2; exit 1; }
done

pg_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -n1; }
if [ -z "${PORTCULLIS_PG_BIN:-}" ] && [ -z "$(pg_initdb)" ]; then
  echo "== installing postgresql (Debian package)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  # The package may start a cluster on 5432; the tests use their own.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
[ -n "${PORTCULLIS_PG_BIN:-}" ] || [ -n "$(pg_initdb)" ] || { echo "PostgreSQL's initdb is still missing" >&2; exit 1; }

echo "== cargo test --all-features"
cargo test --all-features --locked "$@"
