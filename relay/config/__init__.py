"""Configuration: TOML loading, ${VAR} substitution, validation into frozen dataclasses."""
