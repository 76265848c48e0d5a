"""Users and their roles (planner, operator, gis_staff, admin; anonymous is the public)."""
