"""LifeUp: streaming detection of cheating in Google Fit step, distance and speed data.

Follow the data: ``parsing`` turns a Kafka message into ``points``; ``buffer`` places them on the
event-time ``grid`` of one user; completed ``windows`` go to ``scoring``; a verdict becomes an
``alerts.Alert``. ``pipeline`` runs that chain without Kafka; ``worker`` runs it inside Faust.
"""

from stream.native import use_source_if_stale

__version__ = "0.1.0"

use_source_if_stale()
