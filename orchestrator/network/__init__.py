"""A cell's network by scenario: names (kinds.py), topologies (topology.py and the
scenario modules), and which topology builds which scenario (registry.py)."""
