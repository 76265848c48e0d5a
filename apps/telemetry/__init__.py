"""Sensor readings: the quality gate, partitioned storage, latest values, rollups, quarantine and alerts."""
