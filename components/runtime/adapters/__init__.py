"""Per-cloud entry adapters: translate native invocations into the portable events."""
