"""The ground floor: errors, paths, routes, records, settings, outcomes, config, journal.

Nothing here imports any other erdrill package; every other package may import it.
"""
