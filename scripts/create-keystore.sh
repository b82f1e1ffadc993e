#!/usr/bin/env bash
# Create-Keystore (seed 000): a PKCS#12 keystore with a known initial password, for PAM to rotate later.
# The password is read from a file (never from argv): scripts/create-keystore.sh <password-file> [name]
# Writes keystore/<name>.p12 (0600) and keystore/<name>.crt (0644), RSA 4096, 10 years, SAN localhost/127.0.0.1/::1.
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 <password-file> [basename]   (e.g. $0 /run/initial-password keygate)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
name="${2:-keygate}"
exec node "$here/dist/main.js" keystore create --password-file "$1" --out "$here/keystore/$name.p12" --alias "$name" --key-size 4096 --days 3650
