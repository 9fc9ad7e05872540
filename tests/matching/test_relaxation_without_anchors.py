"""Relaxing the anchor distance for a person without anchors (found by the load test)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import OrgFixture
from tests.matching.factories import create_person, home, matches


def test_relaxing_anchor_distance_for_a_person_without_anchors_is_no_500(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    # Was a KeyError (500): the radius was loosened for an anchor check the person never had.
    _, vacancy_id = home(client, corporation, municipality, rent_yen=40_000)
    person_id = create_person(client, center)

    body = matches(client, center, person_id, relax="anchor_distance", radius_factor=2)

    assert [c["vacancy"]["id"] for c in body["candidates"]] == [vacancy_id]
    assert body["relaxation"]["opened_up"] == 0
