"""The drill engine: phases of the documented test plan, timed by probes, always undone."""
