"""Re-fetches the vendored browser assets (housing_match/web/vendor.py) with ``npm pack``.

    .venv/bin/python scripts/vendor_assets.py          # fetch, verify, copy, write VENDORED.md
    .venv/bin/python scripts/vendor_assets.py --check  # verify the committed files only

Each tarball must match the integrity pinned in vendor.py, so a run reproduces the committed
files byte for byte; a version bump means editing vendor.py (version and integrity) and
running this again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from housing_match.web.vendor import PACKAGES, VendoredPackage  # noqa: E402

VENDOR_DIR = ROOT / "housing_match" / "web" / "static" / "vendor"
LISTING = VENDOR_DIR / "VENDORED.md"


def listing() -> str:
    lines = [
        "# Vendored browser assets",
        "",
        "Served by the application under `/static/vendor/`, so no page needs the internet.",
        "Fetched from the npm registry by `scripts/vendor_assets.py` at these pinned versions",
        "(the tarballs' integrity is checked); each folder keeps the package's licence files.",
        "",
        "| package | version | licence | used for |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{package.name}` | {package.version} | {package.licence} | {package.purpose} |"
        for package in PACKAGES
    ]
    return "\n".join(lines) + "\n"


def fetch(package: VendoredPackage, work: Path) -> None:
    spec = f"{package.name}@{package.version}"
    result = subprocess.run(  # noqa: S603
        ["npm", "pack", spec, "--json", "--pack-destination", str(work)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    )
    packed = json.loads(result.stdout)[0]
    if packed["integrity"] != package.integrity:
        raise SystemExit(f"{spec}: integrity {packed['integrity']} is not the pinned one")
    tarball = work / packed["filename"]
    with tarfile.open(tarball) as archive:
        archive.extractall(work / "x", filter="data")
    source = work / "x" / "package"
    target = VENDOR_DIR / package.folder
    shutil.rmtree(target, ignore_errors=True)
    for inside, outside in (*package.files, *((name, name) for name in package.licence_files)):
        destination = target / outside
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / inside, destination)
    print(f"{spec}: {len(package.files)} files and {len(package.licence_files)} licence files")


def check() -> int:
    missing = [
        f"{package.folder}/{name}"
        for package in PACKAGES
        for name in (*(target for _, target in package.files), *package.licence_files)
        if not (VENDOR_DIR / package.folder / name).is_file()
    ]
    wanted = {package.folder for package in PACKAGES}
    stray = sorted(
        entry.name for entry in VENDOR_DIR.iterdir() if entry.is_dir() and entry.name not in wanted
    )
    stale_listing = not LISTING.is_file() or LISTING.read_text(encoding="utf-8") != listing()
    for name in missing:
        print(f"missing: {name}")
    for name in stray:
        print(f"not in vendor.py: {name}")
    if stale_listing:
        print("VENDORED.md is stale")
    return 1 if missing or stray or stale_listing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files only")
    if parser.parse_args().check:
        return check()
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed: apt-get install npm")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    wanted = {package.folder for package in PACKAGES}
    for entry in VENDOR_DIR.iterdir():
        if entry.is_dir() and entry.name not in wanted:
            shutil.rmtree(entry)
    with tempfile.TemporaryDirectory(prefix="vendor-") as work:
        for package in PACKAGES:
            package_work = Path(work) / package.folder
            package_work.mkdir()
            fetch(package, package_work)
    LISTING.write_text(listing(), encoding="utf-8")
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
