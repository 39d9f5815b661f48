"""``lifeup train [--out PATH] [--epochs N] [--seed S]``: trains, calibrates and exports the model.

Needs the ``train`` extra (torch); the runtime never imports it. Defaults rebuild the model
shipped in ``stream/models/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

HELP = "train the autoencoder and export it to ONNX (needs the [train] extra)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from stream.scoring.autoencoder import DEFAULT_MODEL_PATH

    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="ONNX file to write")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument(
        "--no-fitabase", action="store_true", help="simulated users only (no ../shared/data)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        from model_export.train import TrainConfig, train
    except ImportError as exc:
        print(
            f"lifeup train needs the train extra (pip install 'lifeup[train]'): {exc}",
            file=sys.stderr,
        )
        return 2
    config = TrainConfig(seed=args.seed, use_fitabase=not args.no_fitabase)
    if args.epochs is not None:
        config = dataclasses.replace(config, epochs=args.epochs)
    meta = train(config, args.out)
    print(f"wrote {args.out}: version {meta.version}, threshold {meta.threshold:.6g}")
    print(json.dumps(meta.training, indent=2, sort_keys=True))
    return 0
