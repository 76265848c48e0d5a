"""The demo feed: demo sensors on the loaded city and one SUMO simulation (apps.simulation.sumo) that
publishes their readings over MQTT like real devices (docs/demo-feed.md). Sits on top of the house: it
uses simulation, sensors and the broker; nothing below imports it."""
