from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from housing_match import __version__
from housing_match.db import SessionDep
from housing_match.errors import DatabaseUnavailable, problem_responses
from housing_match.system.repository import postgis_version
from housing_match.system.schemas import Health, Meta

router = APIRouter(tags=["system"])
logger = logging.getLogger(__name__)


@router.get(
    "/health",
    response_model=Health,
    summary="Liveness: the database answers and PostGIS is installed",
    responses=problem_responses(503),
)
def health(session: SessionDep) -> Health:
    try:
        version = postgis_version(session)
    except SQLAlchemyError as exc:
        logger.warning("health check failed: %s", type(exc).__name__)
        raise DatabaseUnavailable("The database or PostGIS is not reachable.") from exc
    return Health(status="ok", database="ok", postgis_version=version)


@router.get("/v1/meta", response_model=Meta, summary="Service name and version")
def meta() -> Meta:
    return Meta(service="housing-match", version=__version__, api_version="v1")
