"""Utility assets: street lamps, traffic signals, power, water, EV chargers (points, lines and areas)."""
