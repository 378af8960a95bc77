"""Handler code of the example app; the same files run on every cloud."""
