"""pytest in the checkout: what to leave out of collection.

The drill's plugin and step definitions load by the installed package's entry point
(erdrill/pytest_plugin.py), the same way as from a wheel; `features/`, `steps/` and
`probes/` here are links into the package.
"""

# Outputs and tools, not tests: a bare `pytest` from the root must not wander into them.
collect_ignore = ["reports", "node_modules", ".venv", "benchmarks", "probes", "steps"]
