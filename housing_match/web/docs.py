"""/docs: Swagger UI from the vendored swagger-ui-dist, so the API's documentation works on a
closed network. ReDoc is not offered: it would be a second, larger bundle for the same spec."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

from housing_match.web.vendor import vendor_url

SWAGGER = "swagger-ui-dist"


def install_docs(app: FastAPI) -> None:
    """Call on an app created with ``docs_url=None, redoc_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} – API",
            swagger_js_url=vendor_url(SWAGGER, "swagger-ui-bundle.js"),
            swagger_css_url=vendor_url(SWAGGER, "swagger-ui.css"),
            swagger_favicon_url=vendor_url(SWAGGER, "favicon-32x32.png"),
            swagger_ui_parameters={
                # Swagger UI would send the spec to an online validator for its badge.
                "validatorUrl": None,
                "persistAuthorization": True,
                "tryItOutEnabled": False,
            },
        )
