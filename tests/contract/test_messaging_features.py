"""Queue, EventBus and Table features on every target, for the support matrix."""

from __future__ import annotations

from components import EventBus, EventBusArgs, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs
from components.testing import MockStack
from tests.contract.conftest import feature

HANDLER = "functions.worker.handle"


def _build(matrix, project_root, program):
    with MockStack(cloud=matrix.target, root=project_root):
        built = matrix.build(program)
    if built is not None:
        matrix.supported()


def _worker() -> Function:
    return Function("worker", FunctionArgs(handler=HANDLER))


# -- Queue --------------------------------------------------------------------------------------


@feature("Queue", "dead-letter queue after 5 receives (the default)")
def test_queue_default(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs"))


@feature("Queue", "dead-letter after 3 receives")
def test_queue_three_receives(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs", QueueArgs(max_receive_count=3)))


@feature("Queue", "FIFO per message group")
def test_queue_fifo(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs", QueueArgs(fifo=True)))


@feature("Queue", "delivery delay (delay_s=30)")
def test_queue_delay(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs", QueueArgs(delay_s=30)))


@feature("Queue", "1 MiB messages")
def test_queue_large_messages(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs", QueueArgs(max_message_kb=1024)))


@feature("Queue", "function trigger, batches of 10")
def test_queue_batches(matrix, project_root):
    _build(matrix, project_root, lambda: Queue("jobs").subscribe(_worker(), batch_size=10))


@feature("Queue", "function trigger with a 5 s batching window")
def test_queue_batching_window(matrix, project_root):
    _build(
        matrix,
        project_root,
        lambda: Queue("jobs").subscribe(_worker(), batch_size=10, max_batching_window_s=5),
    )


# -- EventBus -----------------------------------------------------------------------------------


def _subscribe(pattern, target: str = "function"):
    def program():
        bus = EventBus("events")
        to = _worker() if target == "function" else Queue("inbox")
        return bus.subscribe("sub", to, pattern=pattern)

    return program


@feature("EventBus", "route by exact type to a function")
def test_bus_exact(matrix, project_root):
    _build(matrix, project_root, _subscribe({"type": ["order.created", "order.updated"]}))


@feature("EventBus", "route to a queue")
def test_bus_to_queue(matrix, project_root):
    _build(matrix, project_root, _subscribe({"type": ["order.created"]}, target="queue"))


@feature("EventBus", "prefix on source")
def test_bus_prefix(matrix, project_root):
    _build(matrix, project_root, _subscribe({"source": [{"prefix": "shop/"}]}))


@feature("EventBus", "numeric range on a data field")
def test_bus_numeric(matrix, project_root):
    _build(matrix, project_root, _subscribe({"data": {"total": [{"numeric": [">=", 100, "<", 500]}]}}))


@feature("EventBus", "exists on subject / nested data field")
def test_bus_exists(matrix, project_root):
    _build(matrix, project_root, _subscribe({"subject": [{"exists": True}], "data": {"a": {"b": [{"exists": False}]}}}))


@feature("EventBus", "exact value or prefix on the same field")
def test_bus_mixed_matchers(matrix, project_root):
    _build(matrix, project_root, _subscribe({"type": ["order.created", {"prefix": "invoice."}]}))


@feature("EventBus", "every event (no pattern)")
def test_bus_everything(matrix, project_root):
    _build(matrix, project_root, _subscribe(None))


@feature("EventBus", "archive for replay (7 days)")
def test_bus_archive(matrix, project_root):
    _build(matrix, project_root, lambda: EventBus("events", EventBusArgs(archive_retention_days=7)))


# -- Table --------------------------------------------------------------------------------------


@feature("Table", "partition + sort key, secondary index")
def test_table_index(matrix, project_root):
    _build(
        matrix,
        project_root,
        lambda: Table(
            "orders",
            TableArgs(
                partition_key="pk",
                sort_key="sk",
                indexes=[{"name": "by-customer", "partition_key": "customer", "sort_key": "created"}],
            ),
        ),
    )


@feature("Table", "number sort key")
def test_table_number_key(matrix, project_root):
    _build(
        matrix,
        project_root,
        lambda: Table("events", TableArgs(partition_key="pk", sort_key="at", key_types={"at": "number"})),
    )


@feature("Table", "TTL attribute")
def test_table_ttl(matrix, project_root):
    _build(matrix, project_root, lambda: Table("orders", TableArgs(partition_key="pk", ttl_attribute="expires")))


@feature("Table", "point-in-time recovery off")
def test_table_no_pitr(matrix, project_root):
    _build(matrix, project_root, lambda: Table("orders", TableArgs(partition_key="pk", point_in_time_recovery=False)))


@feature("Table", "change feed to a function")
def test_table_changes(matrix, project_root):
    _build(matrix, project_root, lambda: Table("orders", TableArgs(partition_key="pk")).on_change(_worker()))


# -- semantic gaps providers declare (they deploy, but behave differently) -----------------------


@feature("Table", "change feed includes deletes and old images")
def test_table_change_semantics(matrix, project_root):
    matrix.stated_gap("table", "change_feed_deletes_and_old_images")


@feature("Table", "failed changes dead-lettered after retries")
def test_table_change_dead_letter(matrix, project_root):
    matrix.stated_gap("table", "change_trigger_dead_letter")


@feature("Table", "point-in-time recovery per table")
def test_table_pitr_scope(matrix, project_root):
    matrix.stated_gap("table", "point_in_time_recovery_per_database")


@feature("Queue", "trigger batches hold several messages")
def test_queue_batch_semantics(matrix, project_root):
    matrix.stated_gap("queue", "batches")


@feature("Queue", "only the failed messages of a batch are retried")
def test_queue_partial_batch(matrix, project_root):
    matrix.stated_gap("queue", "partial_batch_failure")


@feature("Queue", "several subscriber functions per queue")
def test_queue_consumers(matrix, project_root):
    matrix.stated_gap("queue", "one_consumer")


@feature("EventBus", "undeliverable events dead-lettered")
def test_bus_dead_letter(matrix, project_root):
    matrix.stated_gap("bus", "dead_letter")


@feature("EventBus", "patterns match events from any publisher")
def test_bus_foreign_publishers(matrix, project_root):
    matrix.stated_gap("bus", "publish_only_through_omnicloud")
