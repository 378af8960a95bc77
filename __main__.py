"""The omnicloud example app: the same program on every stack (dev-aws, dev-azure, dev-gcp, dev-local).

HTTP in (``api``), an order stored (``orders``), a job queued (``jobs``) and an event
published (``events``); ``worker`` consumes the queue and the ``order.created`` events;
``audit`` reacts to every change of the table; ``nightly`` runs on a schedule.
"""

import pulumi

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs

orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", ttl_attribute="expires"))
jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, max_receive_count=5))
events = EventBus("events")

api = Function(
    "api",
    FunctionArgs(
        handler="functions.api.handle",
        http="public",
        timeout_s=15,
        links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish")],
    ),
)
worker = Function(
    "worker",
    FunctionArgs(handler="functions.worker.handle", timeout_s=30, links=[orders.allow("read", "write")]),
)
audit = Function("audit", FunctionArgs(handler="functions.audit.handle"))
nightly = Function(
    "nightly",
    FunctionArgs(handler="functions.nightly.handle", schedule="cron(0 2 * * *)", timeout_s=300),
)

jobs.subscribe(worker, batch_size=10)
events.subscribe("on-order", worker, pattern={"type": ["order.created"], "source": [{"prefix": "shop/"}]})
orders.on_change(audit)

pulumi.export("api_url", api.url)
pulumi.export("orders_table", orders.resource_id)
pulumi.export("jobs_dead_letter", jobs.dead_letter)
