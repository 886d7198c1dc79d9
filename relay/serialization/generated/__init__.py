"""Generated betterproto classes of proto/market_data.proto (see scripts/gen_proto.sh)."""
