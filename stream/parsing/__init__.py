"""Parsing: every event shape of the contract into ``PointBatch`` columns, or coded rejections.

Accepted shapes (one Kafka message value, UTF-8 JSON; the user is ``user_id``, else the key):

1. a single Google Fit data point (``dataTypeName``, ``startTimeNanos``, ``endTimeNanos``, ``value``
   or Takeout's ``fitValue``; nanoseconds as JSON integers or decimal strings);
2. a REST ``Dataset`` (``dataSourceId`` + ``point``);
3. a Takeout "All Data" body (``Data Source`` + ``Data Points``);
4. a REST aggregate response (``bucket`` → ``dataset`` → ``point``), or a
   ``dataPointChanges.list`` page (its ``insertedDataPoint``; deleted points are counted as
   ignored: a count once made is not taken back);
5. a Health Connect record (``recordType`` Steps, Distance or Speed, Jetpack field names), or
   ``{"user_id": ..., "records": [...]}``;
6. a JSON array of any of these (each element may carry its own ``user_id``).

Points of other Google Fit data types and other Health Connect record types are counted in
``ParseResult.ignored``, never rejected; so are session summaries (Takeout's ``All Sessions``
files, a REST ``sessions.list`` page), whose steps and metres ``All Data`` already holds. The
source of a point (for de-duplication, see ``stream.sources``) is its stream: the Dataset's
``dataSourceId`` or Takeout's ``Data Source``, else the point's own
``dataSourceId``/``originDataSourceId``; Health Connect: ``dataOrigin``.
Rejection codes are listed in ``stream.parsing.errors``.

Finite inputs (files, a posted list) should reach a buffer in event-time order across sources
(``in_event_time``; ``iter_results`` does it by default, ``iter_events(..., ordered=True)`` for
publishing), otherwise the first stream read closes the hours the next stream also reports.
"""

from stream.parsing.decode import MAX_BYTES, MAX_POINTS, parse_message, parse_obj
from stream.parsing.errors import CODES
from stream.parsing.files import Unreadable, iter_events, iter_results
from stream.parsing.order import in_event_time, ordered_events

__all__ = [
    "CODES",
    "MAX_BYTES",
    "MAX_POINTS",
    "Unreadable",
    "in_event_time",
    "iter_events",
    "iter_results",
    "ordered_events",
    "parse_message",
    "parse_obj",
]
