"""The CLI creates organisations and keys; ``key create`` prints the key alone on stdout."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from housing_match import db
from housing_match.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_uses_test_transaction(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = sessionmaker(
        bind=session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)


def test_org_and_key_create(client: TestClient) -> None:
    created = runner.invoke(
        app,
        [
            "org", "create", "--kind", "municipality", "--slug", "osaka-pref",
            "--name", "大阪府 住宅まちづくり部", "--jurisdiction", "27",
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "osaka-pref" in created.stdout

    issued = runner.invoke(app, ["key", "create", "--org", "osaka-pref"])
    assert issued.exit_code == 0, issued.output
    key = issued.stdout.strip()
    assert issued.stdout == key + "\n"
    assert key.startswith("hm_")

    me = client.get("/v1/organisations/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert me.json()["jurisdiction_codes"] == ["27"]


def test_key_for_unknown_org_fails_cleanly() -> None:
    result = runner.invoke(app, ["key", "create", "--org", "nobody"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "nobody" in result.stderr


def test_invalid_org_is_refused_with_a_message() -> None:
    result = runner.invoke(
        app,
        ["org", "create", "--kind", "municipality", "--slug", "x-city", "--name", "x",
         "--jurisdiction", "271003"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "check digit" in result.stderr
    assert "Traceback" not in result.output


def test_demo_load_prints_a_key_per_kind(client: TestClient) -> None:
    result = runner.invoke(app, ["demo", "load", "--dwellings", "120"])
    assert result.exit_code == 0, result.output
    keys = [
        line.split()[-1] for line in result.stdout.splitlines() if "hm_" in line.split()[-1:][0]
    ]
    assert len(keys) == 4
    kinds = set()
    for key in keys:
        me = client.get("/v1/organisations/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        kinds.add(me.json()["kind"])
    assert kinds == {"admin", "center", "support_corporation", "municipality"}
    center_key = next(
        k
        for k in keys
        if client.get("/v1/organisations/me", headers={"Authorization": f"Bearer {k}"}).json()[
            "kind"
        ]
        == "center"
    )
    found = client.get(
        "/v1/dwellings",
        params={"municipality_code": "271004", "limit": 500},
        headers={"Authorization": f"Bearer {center_key}"},
    )
    assert len(found.json()["items"]) > 20
    # One manager per demo organisation, who signs in with the printed password (no TOTP code:
    # the tests run in the development environment).
    users = [line.split() for line in result.stdout.splitlines() if ".example " in line]
    assert len(users) == 4
    _slug, email, password = next(user for user in users if user[0] == "demo-osaka-center")
    login = client.get("/login")
    token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    me = client.get("/v1/me")
    assert me.json()["role"] == "manager"
    assert me.json()["organisation"]["slug"] == "demo-osaka-center"
    # Loading twice keeps the organisations and the registry, and issues fresh keys.
    again = runner.invoke(app, ["demo", "load", "--dwellings", "120"])
    assert again.exit_code == 0
    assert "already loaded" in again.stderr


UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"


def test_an_unreachable_database_is_one_clear_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from housing_match.cli import main; main()", "vacancies", "expire"],
        env=os.environ | {"HOUSING_MATCH_DATABASE_URL": UNREACHABLE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database failed: connection failed")
    assert "HOUSING_MATCH_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
