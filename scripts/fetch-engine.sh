#!/usr/bin/env bash
# Installs the pinned embedded ClickHouse engine (chDB's libchdb.so) into hourglass's cache
# folder. npm fetches the package and checks its integrity; nothing else is downloaded.
set -euo pipefail
version="${CHDB_VERSION:-26.5.3}"
dest="${HOURGLASS_CHDB_LIB:-${XDG_CACHE_HOME:-$HOME/.cache}/hourglass/chdb-$version/libchdb.so}"
if [ -s "$dest" ]; then
  echo "engine: $dest is already installed"
  exit 0
fi
command -v npm >/dev/null || { echo "engine: npm is needed to fetch @chdb/lib-linux-x64-gnu (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "engine: fetching @chdb/lib-linux-x64-gnu@$version with npm pack"
(cd "$work" && npm pack --silent "@chdb/lib-linux-x64-gnu@$version" >/dev/null)
tar -xzf "$work"/chdb-lib-linux-x64-gnu-"$version".tgz -C "$work" package/libchdb.so
mkdir -p "$(dirname "$dest")"
mv "$work/package/libchdb.so" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "engine: installed $dest ($(du -h "$dest" | cut -f1))"
