"""Step definitions: thin glue from Gherkin sentences to erdrill's library."""
