"""Drill a fleet of circuits on Temporal: a campaign over an inventory, one drill per
circuit on a worker of its site, shared resources locked across campaigns, the fault
undone from the control queue when a drill host dies (see README "Drill a fleet")."""
