"""A prefecture's dwellings are a range of municipality codes, served by the municipality index."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.orm import Session

from housing_match.models import Dwelling
from housing_match.registry.repository import in_prefectures, jurisdiction_condition


@pytest.mark.parametrize(
    ("code", "inside"),
    [("270000", True), ("271004", True), ("279999", True), ("269999", False), ("280000", False)],
)
def test_a_prefecture_holds_exactly_its_own_codes(
    session: Session, code: str, inside: bool
) -> None:
    assert session.scalar(select(in_prefectures(literal(code), ["27"]))) is inside
    both = jurisdiction_condition(["01", "27", "131016"], municipality_code=literal(code))
    assert session.scalar(select(both)) is inside


def test_a_prefecture_search_uses_the_municipality_index(session: Session) -> None:
    session.execute(text("SET LOCAL enable_seqscan = off"))
    statement = select(Dwelling.id).where(in_prefectures(Dwelling.municipality_code, ["27"]))
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_dwellings_municipality_status" in plan
