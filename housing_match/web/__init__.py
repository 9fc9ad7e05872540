"""Server-rendered pages (Jinja2), views over the same services as the API."""
