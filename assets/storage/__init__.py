"""Delta tables on disk: write guards, atomic writes, commit retries, publish and quarantine helpers."""
