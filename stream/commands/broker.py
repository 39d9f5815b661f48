"""``lifeup broker``: an embedded Kafka-compatible broker (Tansu) for development."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from stream.broker import BrokerError, EmbeddedBroker

HELP = "an embedded Kafka-compatible broker (Tansu) for development"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        broker = EmbeddedBroker(host=args.host, port=args.port).start()
    except BrokerError as exc:
        print(f"lifeup broker: {exc}", file=sys.stderr)
        return 1
    try:
        print(broker.bootstrap, flush=True)
        print(
            f"export LIFEUP_KAFKA_BOOTSTRAP={broker.bootstrap}  # Ctrl-C stops the broker",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            if not broker.alive():
                print("lifeup broker: Tansu exited", file=sys.stderr)
                return 1
    finally:
        broker.stop()
    return 0
