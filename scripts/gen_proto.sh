#!/usr/bin/env bash
# Regenerate relay/serialization/generated/market_data.py (betterproto classes)
# from proto/market_data.proto.
#
# Needs, in the chosen Python environment: grpcio-tools (for protoc) and
# betterproto[compiler]==2.0.0b7 (for protoc-gen-python_betterproto).
# Usage: scripts/gen_proto.sh                          (uses `python` on PATH)
#        PYTHON=/work/venv/bin/python scripts/gen_proto.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
bindir="$(dirname "$("$python" -c 'import sys; print(sys.executable)')")"
out="$root/relay/serialization/generated"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# betterproto writes one package per proto package: relay/v1/__init__.py.
PATH="$bindir:$PATH" "$python" -m grpc_tools.protoc \
    --proto_path="$root/proto" \
    --python_betterproto_out="$tmp" \
    "$root/proto/market_data.proto"

if [[ ! -f "$tmp/relay/v1/__init__.py" ]]; then
    echo "gen_proto: expected $tmp/relay/v1/__init__.py, got:" >&2
    find "$tmp" -type f >&2
    exit 1
fi
mkdir -p "$out"
cp "$tmp/relay/v1/__init__.py" "$out/market_data.py"
cat > "$out/__init__.py" <<'PY'
"""Generated betterproto classes of proto/market_data.proto (see scripts/gen_proto.sh)."""
PY
echo "gen_proto: wrote $out/market_data.py"
