"""Wires the web interface into the application: static files, the pages, /docs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from housing_match.web.allocation import router as allocation_router
from housing_match.web.candidates import router as candidates_router
from housing_match.web.center import router as center_router
from housing_match.web.docs import install_docs
from housing_match.web.errors import install_error_pages
from housing_match.web.pages import router as pages_router
from housing_match.web.persons import router as persons_router
from housing_match.web.referrals import router as referrals_router
from housing_match.web.templating import STATIC_DIR


def install_web(app: FastAPI) -> None:
    """Call after errors.install_problem_handlers: error pages wrap its handlers."""
    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_docs(app)
    app.include_router(center_router)  # before the pages: "/" is the center's home when signed in
    app.include_router(pages_router)
    app.include_router(persons_router)
    app.include_router(candidates_router)
    app.include_router(referrals_router)
    app.include_router(allocation_router)
