"""The web interface for staff: server-rendered Japanese pages (Jinja2 + htmx) over the same
services as the API, with every script, style sheet and font served by the application.

- ``site.install_web(app)``: mounts ``/static``, the pages' routers and the offline ``/docs``;
- ``templating``: the Jinja environment (``templates``, ``render``) and its globals;
- ``formatting``: the Japanese filters (``ja_date``, ``ja_datetime``, ``yen``, ``m2``,
  ``distance``);
- ``forms``: field ids, Japanese messages from pydantic errors, the error summary's data;
- ``vendor``: the pinned npm assets under ``static/vendor/``;
- templates: ``base.html`` (the layout), ``macros/forms.html``, ``macros/map.html``.
"""
