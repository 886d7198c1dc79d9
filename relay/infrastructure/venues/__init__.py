"""Venue adapters, one module per venue family, each registering itself."""
