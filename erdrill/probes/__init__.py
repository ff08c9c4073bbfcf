"""Probes: ICMP and TCP probing at fixed rates, and convergence measurement."""
