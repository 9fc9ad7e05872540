"""Webhook URLs cannot reach the service's own network, and the delivery log maps no ports.

Registration refuses every host that is refusable without DNS; at send time the name is
resolved once, by a resolver the test controls, every address must be public, and the request
goes to that very address. The corporation sees a class of failure, never the peer's bytes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from housing_match.models import OrganisationKind
from housing_match.referrals import worker
from housing_match.referrals.egress import (
    ADDRESS_REFUSED,
    NO_RESPONSE,
    IPAddress,
    Resolver,
    is_public,
    pinned,
)
from housing_match.settings import Settings, get_settings
from tests.conftest import MakeOrganisation, OrgFixture
from tests.referrals.conftest import (  # noqa: F401  # fixtures used by name
    jobs_use_test_transaction,
    loopback_webhooks,
)
from tests.referrals.factories import open_home, receiver, referred, simple_person


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))


NOT_PUBLIC = [
    "0.0.0.0",  # noqa: S104  # an address under test, not a bind
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.8",
    "192.0.2.10",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::127.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:db8::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "2404:6800:4004:80a::200e",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_no_private_address_is_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


# --- registration: what is refusable without DNS ---------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hooks",
        "https://localhost./hooks",
        "https://LOCALHOST./hooks",
        "https://metadata/computeMetadata/v1/",
        "https://metadata./",
        "https://intranet/",
        "https://app.localhost/",
        "https://db.internal/",
        "https://printer.local/",
        "https://router.home.arpa/",
        "https://1.0.0.127.in-addr.arpa/",
        "https://127.0.0.1/",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[2002:7f00:1::]/",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
    ],
)
def test_registration_refuses_hosts_that_are_never_public(
    client: TestClient, corporation: OrgFixture, url: str
) -> None:
    response = client.post("/v1/webhooks", json={"url": url}, headers=corporation.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.jp/referrals",
        "https://[2606:4700:4700::1111]/hooks",
        # Refused by its address at send time, not by its name.
        "https://169.254.169.254.nip.io/",
    ],
)
def test_registration_accepts_public_looking_hosts(
    client: TestClient, corporation: OrgFixture, url: str
) -> None:
    response = client.post("/v1/webhooks", json={"url": url}, headers=corporation.headers)
    assert response.status_code == 201, response.text


def test_production_cannot_enable_the_loopback_escape_hatch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOUSING_MATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("HOUSING_MATCH_SECRET_KEY", "p" * 48)
    monkeypatch.setenv("HOUSING_MATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    with pytest.raises(ValueError, match="tests only"):
        Settings()


# --- send time: resolved once, every address public, connected to that address ---------------


class FakeDns:
    """A resolver the test controls: each name's answers, and every question asked."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(answer) for answer in self.answers[host]]


@contextmanager
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that records whether anything connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def register(client: TestClient, corporation: OrgFixture, url: str) -> str:
    response = client.post("/v1/webhooks", json={"url": url}, headers=corporation.headers)
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


def deliver(resolver: Resolver) -> worker.RunReport:
    settings = get_settings().model_copy(update={"webhook_timeout_seconds": 2.0})
    return worker.run(once=True, settings=settings, resolver=resolver)


def last_delivery(
    client: TestClient, corporation: OrgFixture, webhook_id: str
) -> dict[str, object]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=corporation.headers)
    assert response.status_code == 200, response.text
    [delivery] = response.json()["items"]
    item: dict[str, object] = delivery
    return item


def an_event(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["64:ff9b::a9fe:a9fe"],
        ["2002:7f00:1::"],
        ["fd00::1"],
        # One private answer among public ones is enough to refuse the name.
        ["93.184.216.34", "127.0.0.1"],
        # The name does not resolve: the same answer, so the log tells nothing of the network.
        [],
    ],
)
def test_a_name_resolving_to_a_private_address_is_never_connected_to(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
    answers: list[str],
) -> None:
    with listener() as port:
        number = port.getsockname()[1]
        webhook_id = register(client, corporation, f"https://hooks.example.jp:{number}/hooks")
        an_event(client, center, corporation, municipality)
        dns = FakeDns({"hooks.example.jp": answers} if answers else {})
        report = deliver(dns)
        assert not connected(port)
    assert dns.asked == [("hooks.example.jp", number)]
    assert (report.delivered, report.retrying) == (0, 1)
    delivery = last_delivery(client, corporation, webhook_id)
    assert delivery["last_error"] == ADDRESS_REFUSED
    assert delivery["last_status_code"] is None


def test_a_name_that_embeds_a_private_address_is_refused_by_its_address(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
) -> None:
    webhook_id = register(client, corporation, "https://169.254.169.254.nip.io/latest/")
    an_event(client, center, corporation, municipality)
    deliver(FakeDns({"169.254.169.254.nip.io": ["169.254.169.254"]}))
    assert last_delivery(client, corporation, webhook_id)["last_error"] == ADDRESS_REFUSED


def test_the_request_goes_to_the_address_that_was_checked(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
    loopback_webhooks: None,  # noqa: F811
) -> None:
    # The receiver listens on 127.0.0.2 only; the operating system resolves localhost to
    # 127.0.0.1 or ::1. So the delivery arrives only if the worker connects to the address
    # its resolver answered, without a second lookup of its own.
    with receiver(host="127.0.0.2") as hook:
        url = f"http://localhost:{hook.port}/hooks"
        webhook_id = register(client, corporation, url)
        an_event(client, center, corporation, municipality)
        # Rebinding: a second question would get another answer.
        answers: list[list[str]] = [["127.0.0.2"], ["127.0.0.1"]]

        def rebinding(host: str, port: int) -> list[IPAddress]:
            return [ipaddress.ip_address(a) for a in answers.pop(0)]

        report = deliver(rebinding)
        assert report.delivered == 1
        [request] = hook.received
    assert request.headers["Host"] == f"localhost:{hook.port}"
    assert answers == [["127.0.0.1"]]
    assert last_delivery(client, corporation, webhook_id)["status"] == "delivered"


@pytest.mark.parametrize(
    ("url", "address", "expected", "host", "sni"),
    [
        (
            "https://hooks.example.jp/referrals?x=1",
            "93.184.216.34",
            "https://93.184.216.34/referrals?x=1",
            "hooks.example.jp",
            "hooks.example.jp",
        ),
        (
            "https://hooks.example.jp.:8443/r",
            "2606:4700:4700::1111",
            "https://[2606:4700:4700::1111]:8443/r",
            "hooks.example.jp.:8443",
            "hooks.example.jp",
        ),
        ("https://8.8.8.8/r", "8.8.8.8", "https://8.8.8.8/r", "8.8.8.8", None),
    ],
)
def test_tls_keeps_the_name_while_connecting_to_the_address(
    url: str, address: str, expected: str, host: str, sni: str | None
) -> None:
    target, headers, extensions = pinned(httpx.URL(url), ipaddress.ip_address(address))
    assert str(target) == expected
    assert headers == {"Host": host}
    assert extensions.get("sni_hostname") == sni


# --- what the corporation sees --------------------------------------------------------------


def test_the_log_shows_a_class_of_failure_not_the_peer(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
    loopback_webhooks: None,  # noqa: F811
) -> None:
    dns = FakeDns({"localhost": ["127.0.0.1"]})
    with listener() as was_open:
        closed = was_open.getsockname()[1]
    # ``closed`` now refuses connections.
    with receiver() as talker, receiver() as plain:
        talker.statuses = [500]
        talker.error_body = b"postgres 15.4 on db-7.internal: auth failed"
        hooks = {
            "answers": register(client, corporation, f"http://localhost:{talker.port}/"),
            "refused": register(client, corporation, f"http://localhost:{closed}/"),
            # TLS spoken to a plain-HTTP port: a handshake failure, not a refusal.
            "no_tls": register(client, corporation, f"https://localhost:{plain.port}/"),
        }
        an_event(client, center, corporation, municipality)
        deliver(dns)
    errors = {
        name: last_delivery(client, corporation, hook)["last_error"] for name, hook in hooks.items()
    }
    assert errors == {"answers": "HTTP 500", "refused": NO_RESPONSE, "no_tls": NO_RESPONSE}


def test_redirects_are_not_followed(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
    loopback_webhooks: None,  # noqa: F811
) -> None:
    with receiver() as target, receiver() as redirecting:
        redirecting.statuses = [307]
        redirecting.reply_headers = {"Location": target.url}
        webhook_id = register(client, corporation, redirecting.url)
        an_event(client, center, corporation, municipality)
        deliver(FakeDns({}))
        assert target.received == []
        assert len(redirecting.received) == 1
    assert last_delivery(client, corporation, webhook_id)["last_error"] == "HTTP 307"
