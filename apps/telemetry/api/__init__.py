"""REST API of telemetry: ingest, latest values, readings, alerts."""
