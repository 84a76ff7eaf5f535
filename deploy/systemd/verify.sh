#!/usr/bin/env bash
# Checks every unit in deploy/systemd with `systemd-analyze verify`, against the binaries
# of a build: each unit's ExecStart (/usr/local/bin/NAME) is pointed at the built NAME.
#   deploy/systemd/verify.sh NAME=PATH...
# Exits non-zero (and says why) when a unit does not verify or systemd-analyze is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "verify.sh: systemd-analyze is not installed (scripts/setup-deps.sh installs systemd)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/units"
for pair in "$@"; do ln -s "${pair#*=}" "$work/bin/${pair%%=*}"; done
status=0
for unit in "$here"/*.service; do
  name=$(basename "$unit")
  instance=${name/@.service/@1.service}  # a template is verified as one instance
  sed "s|/usr/local/bin/|$work/bin/|" "$unit" > "$work/units/$instance"
  binary=$(sed -n 's|^ExecStart=/usr/local/bin/\([^ ]*\).*|\1|p' "$unit")
  [ -e "$work/bin/$binary" ] || { echo "verify.sh: $name: no binary given for $binary" >&2; status=1; continue; }
  if ! out=$(cd "$work/units" && systemd-analyze verify --man=no "$work/units/$instance" 2>&1); then
    echo "verify.sh: $name does not verify:" >&2; echo "$out" >&2; status=1; continue
  fi
  # verify exits 0 on some warnings: a line naming the unit is a problem too.
  if echo "$out" | grep -q "$instance"; then echo "verify.sh: $name:" >&2; echo "$out" >&2; status=1; continue; fi
  echo "verify.sh: $name ok"
done
exit $status
