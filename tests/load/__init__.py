"""Load tests (loopback only, bounded)."""
