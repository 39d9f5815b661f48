"""The ``lifeup`` command line: one sub-command per module in ``stream.commands``.

Each command module defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; it is
imported only when its command runs, so ``lifeup score`` never pays for Faust or FastAPI imports.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "demo": "the whole pipeline on one machine: broker, worker, API and a replay with cheats",
    "worker": "the Faust worker (Kafka from LIFEUP_KAFKA_BOOTSTRAP)",
    "api": "the FastAPI façade",
    "broker": "an embedded Kafka-compatible broker (Tansu) for development",
    "publish": "publish Takeout, REST, Health Connect or JSON-lines events to the events topic",
    "score": "score inputs offline, without Kafka; print the alerts the worker would emit",
    "inspect": "what LifeUp makes of the inputs: ranges, de-duplicated totals, sources, rejections",
    "bench": "run a benchmark and print its figures next to their baselines",
    "train": "train the autoencoder and export it to ONNX (needs the [train] extra)",
    "evaluate": "evaluate the detector against baselines (needs the [train] extra)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifeup", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        module = importlib.import_module(f"stream.commands.{name}")
        module.add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"stream.commands.{args.command}")
    try:
        result: int = module.run(args)
    except BrokenPipeError:
        # the reader went away (`lifeup score ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return result


if __name__ == "__main__":
    sys.exit(main())
