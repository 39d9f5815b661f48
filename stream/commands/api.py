"""``lifeup api [--host H] [--port P]``: the FastAPI façade under uvicorn."""

from __future__ import annotations

import argparse

HELP = "the FastAPI façade"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from stream.api.app import create_app

    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        server_header=False,
    )
    return 0
