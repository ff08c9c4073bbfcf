"""Drill targets: the lab and Azure, behind one interface."""
