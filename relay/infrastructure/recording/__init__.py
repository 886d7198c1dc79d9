"""Recording raw venue traffic (``[recording]``) as zstd relay-capture/1 files."""
