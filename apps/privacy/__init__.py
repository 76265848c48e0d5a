"""The privacy module: every public aggregate of sensor data goes through it (docs/privacy.md)."""
