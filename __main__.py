"""The omnicloud example app: the same program on every stack (dev-aws, dev-azure, dev-gcp, dev-local)."""

import pulumi

from components import Function, FunctionArgs

api = Function(
    "api",
    FunctionArgs(
        handler="functions.api.handle",
        http="public",
        memory_mb=512,
        timeout_s=15,
        environment={"GREETING": "hello"},
    ),
)

nightly = Function(
    "nightly",
    FunctionArgs(
        handler="functions.nightly.handle",
        schedule="cron(0 2 * * *)",
        timeout_s=300,
    ),
)

pulumi.export("api_url", api.url)
pulumi.export("api_id", api.resource_id)
pulumi.export("nightly_id", nightly.resource_id)
