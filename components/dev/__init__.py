"""``omnicloud dev``: the whole app of a ``local`` stack on this machine, no cloud account.

:mod:`.app` reads the program (under the mock engine); :mod:`.workers` runs each Function in
processes of its own; :mod:`.server` serves HTTP on loopback and the admin routes;
:mod:`.consumers` feeds queues, bus subscriptions, table changes and workflow starts to their
functions; :mod:`.scheduler` fires schedules; :mod:`.reload` replaces handler processes when
files change; :mod:`.output` says what happened, for people (rich) or machines (``--json``).
"""
