"""The streaming worker: Faust agents from ``lifeup.fit-events`` to alerts and the DLQ.

``create_app(settings)`` builds it (``stream.worker.app``), ``run_worker(settings)`` runs it; the
rules it follows are in ``stream.worker.processor``.
"""

from stream.worker.app import WorkerApp, create_app
from stream.worker.run import run_worker

__all__ = ["WorkerApp", "create_app", "run_worker"]
