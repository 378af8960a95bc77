"""The omnicloud example app: the same program on every stack (dev-aws, dev-azure, dev-gcp, dev-local).

HTTP in (``api``), an order stored (``orders``), a job queued (``jobs``) and an event
published (``events``); ``worker`` consumes the queue and the ``order.created`` events;
``audit`` records every change of an order in the table; ``nightly`` runs on a schedule.
``POST /checkout/<id>`` starts the ``checkout`` workflow for a stored order: price every line
(Map), reserve stock (Retry, Catch), decide (Choice), then charge and notify side by side
(Parallel).
"""

import pulumi

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs, Workflow, WorkflowArgs
from components.workflow import Case, Catch, Choice, Eq, Fail, Map, Parallel, Retry, Succeed, Task

orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", ttl_attribute="expires"))
jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, max_receive_count=5))
events = EventBus("events")

# The checkout workflow's steps: one small function each.
pricing = Function("pricing", FunctionArgs(handler="functions.checkout.price_line"))
inventory = Function("inventory", FunctionArgs(handler="functions.checkout.reserve"))
payments = Function(
    "payments", FunctionArgs(handler="functions.checkout.charge", links=[orders.allow("read", "write")])
)
notifier = Function("notifier", FunctionArgs(handler="functions.checkout.notify", links=[events.allow("publish")]))

checkout = Workflow(
    "checkout",
    WorkflowArgs(
        steps=[
            Map(
                "price-lines",
                items="$.order.lines",
                max_concurrency=5,
                steps=[Task("price", pricing, args={"sku": "$.item.sku", "qty": "$.item.qty"}, result="line")],
                result="priced",
            ),
            Task(
                "reserve",
                inventory,
                args={"order": "$.order"},
                result="reservation",
                retry=Retry(errors=["Throttled"], max_retries=3, interval_s=2, backoff_rate=2.0),
                catch=[Catch(errors=["OutOfStock"], result="error", steps=[Fail("out-of-stock", error="OutOfStock")])],
            ),
            Choice(
                "reserved",
                cases=[
                    Case(
                        Eq("$.reservation.ok", True),
                        [
                            Parallel(
                                "fulfil",
                                branches=[
                                    [
                                        Task(
                                            "charge",
                                            payments,
                                            args={"order": "$.order", "priced": "$.priced"},
                                            result="payment",
                                        )
                                    ],
                                    [Task("notify", notifier, args={"order": "$.order"}, result="notice")],
                                ],
                                result="fulfilment",
                                catch=[
                                    Catch(
                                        errors=["PaymentDeclined"],
                                        result="error",
                                        steps=[Fail("declined", error="PaymentDeclined")],
                                    )
                                ],
                            )
                        ],
                    )
                ],
                default=[Fail("not-reserved", error="NotReserved", cause="inventory did not confirm the reservation")],
            ),
            Succeed("done"),
        ]
    ),
)

api = Function(
    "api",
    FunctionArgs(
        handler="functions.api.handle",
        http="public",
        timeout_s=15,
        links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish"), checkout.allow("start")],
    ),
)
worker = Function(
    "worker",
    FunctionArgs(handler="functions.worker.handle", timeout_s=30, links=[orders.allow("read", "write")]),
)
audit = Function("audit", FunctionArgs(handler="functions.audit.handle", links=[orders.allow("write")]))
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
pulumi.export("checkout_workflow", checkout.resource_id)
