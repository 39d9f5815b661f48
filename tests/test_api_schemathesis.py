"""Schemathesis against the app's own OpenAPI document: no 5xx, no schema violations.

In-process (ASGI), with the real detector, parser and the embedded broker behind /v1/events.
The only 5xx allowed is the documented 503 of the alerts route when no worker answers.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from stream.api.app import create_app
from tests.test_api_support import AUTH, settings

app = create_app(settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def _wire(kafka_bootstrap: str) -> None:
    """Points the module's app at the embedded broker and loads the model, as start-up does."""
    services = app.state.services
    services.settings = settings(
        kafka_bootstrap=kafka_bootstrap, events_topic=f"api-fuzz-{uuid.uuid4().hex[:8]}"
    )
    services.load_detector()
    if not services.model_check().ok:
        pytest.skip(services.model_check().detail)


@pytest.mark.broker
@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case[Any]) -> None:
    # The key is the one credential schemathesis cannot invent, so every case gets it, except a
    # negative case whose headers were made invalid (it may have dropped the key on purpose:
    # adding it back would turn a deliberately invalid request into a valid one).
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    auth = {} if headers is not None and headers.mode.is_negative else AUTH
    response = case.call(headers=auth)
    excluded: list[Any] = []
    if case.method == "POST":
        # Event bodies are judged by the parser (times relative to now, non-negative values,
        # paired series): a schema-valid body may be refused with 422, by design.
        excluded.append(positive_data_acceptance)
    if case.path == "/v1/users/{user_id}/alerts" and response.status_code == 503:
        assert response.json()["error"] == "worker_unavailable"  # documented: no worker here
        excluded.append(not_a_server_error)
    case.validate_response(response, excluded_checks=excluded, headers=auth)
