"""Persons, homes and referrals for the referral tests, and a local webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import OrgFixture
from tests.matching.factories import at, create_person, days_from_now, home

FULL_CONSENT = [
    "household_size",
    "categories",
    "needs",
    "move_in_date",
    "home_municipality",
    "anchor_kinds",
    "support_plan",
]


def rich_person(
    client: TestClient, center: OrgFixture, *, shared: list[str] | None, **overrides: Any
) -> str:
    """A person with everything a profile can hold; ``shared`` is what corporations may see
    (None: no consent to share with corporations at all)."""
    sharing: dict[str, list[str]] = {"municipality": ["categories"]}
    if shared is not None:
        sharing["support_corporation"] = shared
    payload: dict[str, Any] = {
        "consent": {"given_on": days_from_now(-10), "sharing": sharing},
        "household_size": 1,
        "categories": ["elderly", "released_from_correctional_facility"],
        "needs": {
            "rent_ceiling_yen": 50_000,
            "min_area_m2": "18.00",
            "no_stairs": True,
            "move_in_date": days_from_now(20),
        },
        "places": {
            "anchors": [
                {
                    "kind": "psychiatric_hospital",
                    "label": "こころクリニック通院",
                    "location": at(north_m=600),
                    "max_distance_m": 3000,
                }
            ],
            "exclusion_zones": [
                {"label": "被害者宅周辺", "center": at(east_m=-4000), "radius_m": 800}
            ],
        },
        "support_plan": [
            {
                "risk_kind": "watch_over",
                "coverer_kind": "welfare_service",
                "coverer_name": "訪問看護ステーション",
            }
        ],
    }
    payload.update(overrides)
    return create_person(client, center, **payload)


def simple_person(client: TestClient, center: OrgFixture, **overrides: Any) -> str:
    return create_person(client, center, **overrides)


def open_home(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, **overrides: Any
) -> str:
    """A registered home near Osaka station with an open vacancy; returns the vacancy id."""
    _, vacancy_id = home(client, corporation, municipality, **overrides)
    return vacancy_id


def refer(client: TestClient, center: OrgFixture, person_id: str, vacancy_id: str) -> Any:
    return client.post(
        "/v1/referrals",
        json={"person_id": person_id, "vacancy_id": vacancy_id},
        headers=center.headers,
    )


def referred(client: TestClient, center: OrgFixture, person_id: str, vacancy_id: str) -> str:
    response = refer(client, center, person_id, vacancy_id)
    assert response.status_code == 201, response.text
    referral_id: str = response.json()["id"]
    return referral_id


def act(
    client: TestClient,
    org: OrgFixture,
    referral_id: str,
    action: str,
    body: dict[str, Any] | None = None,
) -> Any:
    if body is None:
        body = {
            "decline": {"reason": "landlord_refused_category", "note": "大家の意向"},
            "withdraw": {"reason": "housed_elsewhere"},
        }.get(action, {})
    return client.post(f"/v1/referrals/{referral_id}/{action}", json=body, headers=org.headers)


def vacancy_status(client: TestClient, org: OrgFixture, vacancy_id: str) -> str:
    status: str = client.get(f"/v1/vacancies/{vacancy_id}", headers=org.headers).json()["status"]
    return status


def lapse_hold(session: Session, referral_id: str) -> None:
    """Moves the hold into the past of the database clock (the test's transaction start)."""
    session.execute(
        text(
            "UPDATE referrals SET hold_expires_at = now() - interval '1 hour', "
            "requested_at = now() - interval '73 hours' WHERE id = :id"
        ),
        {"id": referral_id},
    )
    session.commit()


def age(session: Session, referral_id: str, *, days: int) -> None:
    session.execute(
        text(
            "UPDATE referrals SET state_changed_at = now() - make_interval(days => :days) "
            "WHERE id = :id"
        ),
        {"id": referral_id, "days": days},
    )
    session.commit()


# --- a local webhook receiver ----------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    received: list[Received] = field(default_factory=list)
    port: int = 0
    error_body: bytes = b"boom"  # the body of every 4xx/5xx answer
    reply_headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def receiver(host: str = "127.0.0.1") -> Iterator[Receiver]:
    """An HTTP server on ``host`` (a loopback address) with a random port, recording every
    request."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.received.append(Received(headers=dict(self.headers.items()), body=body))
            status = state.statuses.pop(0) if state.statuses else 200
            reply = state.error_body if status >= 400 else b"ok"
            self.send_response(status)
            for name, value in state.reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.port = server.server_address[1]
    state.url = f"http://{host}:{state.port}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
