"""pytest wiring for the drill: the erdrill plugin and the step definitions.

`pytest features/` with no options builds the lab once (fast profile), runs every lab
scenario and tears the lab down. The plugin (erdrill/pytest_plugin.py) holds the options,
fixtures and hooks; erdrill/session.py the session; steps/ the Gherkin glue.
"""

pytest_plugins = [
    "erdrill.pytest_plugin",
    "steps.drill_steps",
    "steps.steady_state_steps",
    "steps.lab_shape_steps",
]
