"""A Faust agent that only counts messages: the baseline the worker is held to (bench/stream.py).

Run as ``python -m bench._faust_trivial BOOTSTRAP TOPIC METRICS_PORT APP_ID``; it exposes the
count as ``bench_messages_total`` so it is timed exactly like the worker, from outside.
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str]) -> None:
    bootstrap, topic, metrics_port, app_id, datadir = argv
    from stream.worker.run import faust_worker, use_uvloop

    use_uvloop()  # the worker runs on uvloop too: same loop, fair ratio
    import faust
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    registry = CollectorRegistry()
    count = Counter("bench_messages", "messages seen", registry=registry)
    start_http_server(int(metrics_port), addr="127.0.0.1", registry=registry)
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=datadir,  # Faust's default is ./{app_id}-data, wherever the bench was started
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=3.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    source = app.topic(topic)

    @app.agent(source)
    async def counter(stream: Any) -> None:
        async for _value in stream:
            count.inc()

    worker = faust_worker(app, "warning")  # same logging set-up as the worker: fair ratio
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
