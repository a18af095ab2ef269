"""The real-node lane (a package, so its node lives only as long as these tests)."""
