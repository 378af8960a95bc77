"""The fault test's app: every message on ``work`` is recorded in ``handled`` by ``consumer``;
poison messages always fail, so they must end in ``work-dlq``."""

from components import Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs

work = Queue("work", QueueArgs(visibility_timeout_s=2, max_receive_count=3))
handled = Table("handled", TableArgs(partition_key="n", key_types={"n": "number"}))
consumer = Function(
    "consumer", FunctionArgs(handler="handlers.consumer.handle", timeout_s=10, links=[handled.allow("write")])
)
work.subscribe(consumer, batch_size=10)
