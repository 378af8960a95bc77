"""Environment variables the platform sets on every deployed function.

Each provider injects these when it creates a function; the entry adapters read them at
invocation time. They are the only contract between deploy time and run time besides the
handler code itself, so the names never change after release.

* :data:`HANDLER`: the handler as ``module.function`` under the project root,
  e.g. ``"functions.api.handle"``.
* :data:`FUNCTION`: the component's logical name (``Function("api", ...)`` → ``"api"``),
  reported to handlers as :attr:`Context.function <components.runtime.Context.function>`.
* :data:`CLOUD`: ``"aws"``, ``"azure"``, ``"gcp"`` or ``"local"``.
* :data:`SCHEDULE`: the portable schedule expression, e.g. ``"rate(5 minutes)"`` or
  ``"cron(0 2 * * *)"``; set only on scheduled functions.
* :data:`HTTP`: ``"public"`` or ``"private"``; set only on functions with an HTTP endpoint.
* :data:`SCHEDULER_IDENTITY`: the identity the cloud's scheduler signs its calls with, where
  the adapter must check it itself (GCP: the scheduler service account's email).
* :data:`TASK_CALLERS`: who may call a *public* function's workflow task route, where the
  adapter must check it itself: a JSON list of identities (GCP: the service account emails of
  the workflows whose tasks call this function). Private functions rely on the platform's IAM.
"""

from __future__ import annotations

HANDLER = "OMNICLOUD_HANDLER"
FUNCTION = "OMNICLOUD_FUNCTION"
CLOUD = "OMNICLOUD_CLOUD"
SCHEDULE = "OMNICLOUD_SCHEDULE"
HTTP = "OMNICLOUD_HTTP"
SCHEDULER_IDENTITY = "OMNICLOUD_SCHEDULER_IDENTITY"
TASK_CALLERS = "OMNICLOUD_TASK_CALLERS"

__all__ = ["CLOUD", "FUNCTION", "HANDLER", "HTTP", "SCHEDULE", "SCHEDULER_IDENTITY", "TASK_CALLERS"]
