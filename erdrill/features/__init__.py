"""The drill as Gherkin: run with `pytest --pyargs erdrill.features` or `erdrill drill`."""
