"""The road network as a directed graph: nodes and segments with class, lanes, speed and direction."""
