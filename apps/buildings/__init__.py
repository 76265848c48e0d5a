"""Building footprints with heights, use and levels."""
