"""Pure encoding and decoding of event envelopes (JSON and protobuf). No I/O."""
