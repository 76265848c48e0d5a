"""Sensors placed in the city (traffic, air quality, energy) and what they are attached to."""
