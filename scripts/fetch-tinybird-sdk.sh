#!/usr/bin/env bash
# Installs the pinned @tinybirdco/sdk package into hourglass's cache folder and prints the
# package folder. Tests run its datafile parser (dist/migrate/parse.js) over every Tinybird
# file hourglass writes. npm fetches the package and checks its integrity; its dependencies
# are not needed by the parser and are not installed.
set -euo pipefail
version="${TINYBIRD_SDK_VERSION:-0.0.84}"
dest="${HOURGLASS_TINYBIRD_SDK:-${XDG_CACHE_HOME:-$HOME/.cache}/hourglass/tinybird-sdk-$version}"
if [ -s "$dest/dist/migrate/parse.js" ]; then
  echo "$dest"
  exit 0
fi
command -v npm >/dev/null || { echo "tinybird-sdk: npm is needed to fetch @tinybirdco/sdk (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "tinybird-sdk: fetching @tinybirdco/sdk@$version with npm pack" >&2
(cd "$work" && npm pack --silent "@tinybirdco/sdk@$version" >/dev/null)
tar -xzf "$work"/tinybirdco-sdk-"$version".tgz -C "$work"
mkdir -p "$(dirname "$dest")"
# Two installs racing each other (test packages run in parallel) both end with a whole
# folder: the rename is atomic and the loser's copy is dropped.
if ! mv -T "$work/package" "$dest" 2>/dev/null; then
  [ -s "$dest/dist/migrate/parse.js" ] || { echo "tinybird-sdk: cannot install into $dest" >&2; exit 1; }
fi
echo "tinybird-sdk: installed $dest" >&2
echo "$dest"
