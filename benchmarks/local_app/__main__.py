"""The app of ``benchmarks/local_dev.py``: a queue ``bench`` (default settings) consumed by
``consumer`` in batches of 10, and an HTTP function ``web`` answering a short string."""

from components import Function, FunctionArgs, Queue

bench = Queue("bench")
consumer = Function("consumer", FunctionArgs(handler="handlers.work.consume"))
bench.subscribe(consumer, batch_size=10)
web = Function("web", FunctionArgs(handler="handlers.work.hello", http="public"))
