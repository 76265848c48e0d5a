"""The browser pages: home, the 3D city map."""
