"""Cloud Logging v2 entries.list, for the sandbox's builds and services."""
