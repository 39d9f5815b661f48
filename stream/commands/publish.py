"""``lifeup publish PATH... [--user ID]``: events from files to the events topic.

Exits 1 when Kafka does not answer (before reading anything), when the broker did not take every
message, or when an input could not be read (the rest is still published, the skipped inputs
listed on standard error).
"""

from __future__ import annotations

import argparse
import sys

from stream.commands import add_input_arguments

HELP = "publish Takeout, REST, Health Connect or JSON-lines events to the events topic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--topic", help="events topic (default: LIFEUP_EVENTS_TOPIC)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap (default: LIFEUP_KAFKA_BOOTSTRAP)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="send file by file as read, not re-ordered by event time (alerts may then differ)",
    )


def run(args: argparse.Namespace) -> int:
    from stream.kafka import KafkaUnreachable
    from stream.publish import publish
    from stream.settings import get_settings

    settings = get_settings()
    if args.bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap": args.bootstrap})
    try:
        report = publish(
            settings,
            args.paths,
            args.user,
            progress=not args.quiet,
            topic=args.topic,
            ordered=not args.as_is,
        )
    except KafkaUnreachable as exc:
        print(f"lifeup publish: {exc}", file=sys.stderr)
        return 1
    for line in report.unreadable:
        print(f"skipped {line}", file=sys.stderr)
    print(
        f"published {report.messages} messages ({report.bytes:,} bytes) for "
        f"{len(report.users)} users to {args.topic or settings.events_topic}; "
        f"{len(report.unreadable)} unreadable inputs skipped; {report.failed} failed",
        file=sys.stderr,
    )
    # like cp or rsync: what could be sent was sent, but the run did not do all it was asked
    return 1 if report.failed or report.unreadable else 0
