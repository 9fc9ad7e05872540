"""Third-party browser assets served by the application itself, at pinned npm versions.

Municipal and center networks are often cut off from the internet, so no page may load a
script, style sheet or font from elsewhere. ``scripts/vendor_assets.py`` fetches exactly these
packages with ``npm pack``, checks each tarball against its integrity below and copies the
listed files with their licence texts to ``static/vendor/<name>-<version>/``; it also writes
``static/vendor/VENDORED.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VendoredPackage:
    name: str  # on the npm registry
    version: str
    licence: str  # SPDX, as the package declares it
    integrity: str  # the registry's sha512 of the tarball
    purpose: str
    # Path inside the tarball's package/ → path under the package's vendor folder.
    files: tuple[tuple[str, str], ...]
    licence_files: tuple[str, ...] = ("LICENSE",)

    @property
    def folder(self) -> str:
        return f"{self.name.removeprefix('@').replace('/', '-')}-{self.version}"

    def url(self, file: str) -> str:
        """The path a page links to, e.g. ``/static/vendor/leaflet-1.9.4/leaflet.js``."""
        if file not in {target for _, target in self.files}:
            raise KeyError(f"{self.name} {self.version} vendors no {file}")
        return f"/static/vendor/{self.folder}/{file}"


PACKAGES: tuple[VendoredPackage, ...] = (
    VendoredPackage(
        # The 2.0 line rather than 4.0: 4.0 (2026-09) changed events and attribute
        # inheritance; 2.0 is still maintained and is what most of its documentation shows.
        name="htmx.org",
        version="2.0.11",
        licence="0BSD",
        integrity="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
        purpose="partial page updates (hx-* attributes)",
        files=(("dist/htmx.min.js", "htmx.min.js"),),
    ),
    VendoredPackage(
        name="leaflet",
        version="1.9.4",
        licence="BSD-2-Clause",
        integrity="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        purpose="maps (wrapped by static/map.js)",
        files=(
            ("dist/leaflet.js", "leaflet.js"),
            ("dist/leaflet.css", "leaflet.css"),
            ("dist/images/layers.png", "images/layers.png"),
            ("dist/images/layers-2x.png", "images/layers-2x.png"),
            ("dist/images/marker-icon.png", "images/marker-icon.png"),
            ("dist/images/marker-icon-2x.png", "images/marker-icon-2x.png"),
            ("dist/images/marker-shadow.png", "images/marker-shadow.png"),
        ),
    ),
    VendoredPackage(
        name="@digital-go-jp/design-tokens",
        version="1.1.9",
        licence="MIT",
        integrity="sha512-93zW/Gb4/pwb63W7r8RHWQdbLGap4heHt5unQQjaqP1OlPqRif146tvqtyJ2xPcot3pnndFY3ph1DC0Crwp6bg==",
        purpose="デジタル庁デザインシステム colour, type and spacing tokens",
        files=(("dist/tokens.css", "tokens.css"),),
    ),
    VendoredPackage(
        name="swagger-ui-dist",
        version="5.36.0",
        licence="Apache-2.0",
        integrity="sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
        purpose="the interactive API documentation at /docs",
        files=(
            ("swagger-ui-bundle.js", "swagger-ui-bundle.js"),
            ("swagger-ui.css", "swagger-ui.css"),
            ("favicon-32x32.png", "favicon-32x32.png"),
        ),
        licence_files=("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"),
    ),
    VendoredPackage(
        name="axe-core",
        version="4.14.1",
        licence="MPL-2.0",
        integrity="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        purpose="accessibility checks in the browser tests (no page links it)",
        files=(("axe.min.js", "axe.min.js"),),
        licence_files=("LICENSE", "LICENSE-3RD-PARTY.txt"),
    ),
)

BY_NAME = {package.name: package for package in PACKAGES}


def vendor_url(name: str, file: str) -> str:
    return BY_NAME[name].url(file)
