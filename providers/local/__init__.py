"""The local target: no cloud resources; the embedded runtime (``omnicloud dev``) serves the app."""
