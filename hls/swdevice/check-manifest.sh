#!/bin/sh
# Checks that the generated software xclbin is the one fpga-bitstreams/manifest.json pins (sha256 and UUID), so a
# changed device registry cannot go unnoticed; prints what to put in the manifest when it differs.
set -eu
xclbin="$1"; manifest="$2"
sha=$(sha256sum "$xclbin" | cut -d' ' -f1)
uuid=$(od -An -tx1 -j416 -N16 "$xclbin" | tr -d ' \n' | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)/\1-\2-\3-\4-/')
if [ ! -f "$manifest" ]; then echo "swdevice: $manifest is missing" >&2; exit 1; fi
if ! grep -q "\"sha256\": *\"$sha\"" "$manifest" || ! grep -q "\"uuid\": *\"$uuid\"" "$manifest"; then
  echo "swdevice: $xclbin (sha256 $sha, uuid $uuid) is not the software xclbin $manifest lists: update its entry" >&2
  exit 1
fi
echo "swdevice: $xclbin matches $manifest (uuid $uuid)"
