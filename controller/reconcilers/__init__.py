"""Reconcilers: read the cache, decide, write only the difference."""
