"""The embedded ``local`` target's runtime: what ``omnicloud dev`` serves without a cloud account.

Standard library only, like the rest of :mod:`components.runtime`. :mod:`.queue_store` is the
durable SQLite engine behind local queues.
"""
