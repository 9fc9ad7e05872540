from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    database: str
    postgis_version: str


class Meta(BaseModel):
    service: str
    version: str
    api_version: str
