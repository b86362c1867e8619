"""Fault tests (loopback only, bounded)."""
