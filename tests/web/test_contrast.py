"""The colour pairs the style sheet uses meet WCAG 2.1 AA: 4.5:1 for text, 3:1 for the edges
of controls and focus rings. Colours are read from the style sheets themselves (the
デジタル庁 tokens and app.css's semantic tokens), so a changed token is re-checked."""

from __future__ import annotations

import re

import pytest

from housing_match.web.templating import STATIC_DIR
from housing_match.web.vendor import BY_NAME

TOKENS = STATIC_DIR / "vendor" / BY_NAME["@digital-go-jp/design-tokens"].folder / "tokens.css"
APP_CSS = STATIC_DIR / "app.css"


def _custom_properties() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in (TOKENS, APP_CSS):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        for name, value in re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", text):
            found.setdefault(name, value.strip())
    return found


PROPERTIES = _custom_properties()


def colour(name: str) -> tuple[int, int, int]:
    value = PROPERTIES[name]
    while (reference := re.fullmatch(r"var\((--[\w-]+)\)", value)) is not None:
        value = PROPERTIES[reference.group(1)]
    match = re.fullmatch(r"#([0-9a-fA-F]{6})", value)
    assert match is not None, f"{name} is {value}, not a #rrggbb colour"
    hex_value = match.group(1)
    return (int(hex_value[0:2], 16), int(hex_value[2:4], 16), int(hex_value[4:6], 16))


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(value) for value in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (luminance(colour(foreground)), luminance(colour(background))), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


TEXT_PAIRS = [
    ("--hm-text", "--hm-surface"),
    ("--hm-text", "--hm-surface-muted"),
    ("--hm-text", "--hm-primary-light"),
    ("--hm-text-secondary", "--hm-surface"),
    ("--hm-text-secondary", "--hm-surface-muted"),
    ("--hm-link", "--hm-surface"),
    ("--hm-link", "--hm-surface-muted"),
    ("--hm-link-visited", "--hm-surface"),
    ("--hm-link-hover", "--hm-surface"),
    ("--hm-on-primary", "--hm-primary"),
    ("--hm-on-primary", "--hm-primary-hover"),
    ("--hm-primary", "--hm-surface"),
    ("--hm-primary", "--hm-primary-light"),
    ("--hm-error", "--hm-surface"),
    ("--hm-on-primary", "--hm-error"),
    ("--hm-success", "--hm-surface"),
    ("--hm-warning-text", "--hm-warning-surface"),
    ("--color-neutral-black", "--hm-focus"),
]
EDGE_PAIRS = [
    ("--hm-border", "--hm-surface"),
    ("--hm-error", "--hm-surface"),
    ("--hm-primary", "--hm-surface"),
    ("--hm-focus-outline", "--hm-surface"),
    # In the blue header a focused link turns yellow: the yellow carries the contrast there.
    ("--hm-focus", "--hm-primary"),
]


@pytest.mark.parametrize(("foreground", "background"), TEXT_PAIRS)
def test_text_contrast_is_at_least_4_5(foreground: str, background: str) -> None:
    assert contrast(foreground, background) >= 4.5


@pytest.mark.parametrize(("foreground", "background"), EDGE_PAIRS)
def test_component_edges_contrast_at_least_3(foreground: str, background: str) -> None:
    assert contrast(foreground, background) >= 3.0


def test_the_contrast_formula() -> None:
    assert round(contrast("--color-neutral-black", "--color-neutral-white"), 1) == 21.0
    assert round(contrast("--color-primitive-red-800", "--color-neutral-white"), 2) == 4.6
