#!/usr/bin/env bash
# Fetches the vendored CJK font again from the npm registry package @embedpdf/fonts-sc
# (Noto Sans Hans Regular, GB2312 coverage, SIL Open Font License 1.1) and checks its hash.
set -euo pipefail
cd "$(dirname "$0")"
version=1.0.0
want=7db3c634bbd0301b3082a80ffcac2f422e8ef9ce0730f8b279c3e8f756598f68
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@embedpdf/fonts-sc@$version" >/dev/null)
tar -xzf "$tmp"/embedpdf-fonts-sc-$version.tgz -C "$tmp" package/fonts/NotoSansHans-Regular.otf package/LICENSE
got=$(sha256sum "$tmp/package/fonts/NotoSansHans-Regular.otf" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
    echo "error: unexpected font hash $got (want $want)" >&2
    exit 1
fi
cp "$tmp/package/fonts/NotoSansHans-Regular.otf" NotoSansHans-Regular.otf
cp "$tmp/package/LICENSE" OFL-1.1.txt
echo "fetched NotoSansHans-Regular.otf ($got)"
