from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def postgis_version(session: Session) -> str:
    return str(session.execute(text("SELECT postgis_lib_version()")).scalar_one())
