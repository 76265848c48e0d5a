"""SUMO plumbing shared by everything that simulates traffic on the twin (the demo feed today, scenario
jobs next): the network built from the stored roads and its edge <-> segment mapping (network.py), route
demand (demand.py), the additional file with detectors and edgeData outputs (detectors.py), and starting
and stepping a simulation with progress and cancel callbacks (runner.py). Where SUMO is installed:
install.py.

No Django models and no telemetry, streaming or MQTT here: callers on top (apps.demo_feed, the jobs) pass
callbacks in, and this package reads only the stored roads."""
