"""Districts: administrative areas or a documented grid when the source has none."""
