"""``housing-match bench``: a synthetic national registry and the speed of matching on it.

``synthetic`` builds the registry through the bulk-import path, ``persons`` the profiles the
matcher is timed with, ``measure`` the timings (service, floor SQL, allocation, HTTP) and
``run`` puts them together into the JSON report.
"""
