"""Settings modules: base (shared), dev (embedded stack), test, prod. Everything site-specific comes from
the environment (12-factor)."""
