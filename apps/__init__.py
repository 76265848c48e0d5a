"""Domain apps, one per part of the city."""
