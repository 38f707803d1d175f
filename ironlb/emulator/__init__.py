"""Kubernetes API emulator for tests and the lab (see docs/emulator.md)."""

from ironlb.emulator.emulator import Emulator, EmulatorThread

__all__ = ["Emulator", "EmulatorThread"]
