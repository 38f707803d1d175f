"""Emulator fixtures (owned by the emulator work)."""
