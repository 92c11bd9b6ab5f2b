"""The verbs of the assessment engine, one module per concern."""
