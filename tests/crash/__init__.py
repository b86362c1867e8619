"""Crash-safety tests (loopback only, bounded)."""
