"""WCAG contrast between two sRGB colours (pure: no Django import)."""

from __future__ import annotations

# The page and card backgrounds an accent colour is drawn on, as links, outlined
# buttons and the white text of primary buttons. The page grey is the darkest.
BACKGROUNDS = ("#ffffff", "#f6f7f5")
MINIMUM = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of a #rrggbb colour, 0 (black) to 1 (white)."""
    text = colour.lstrip("#")
    red, green, blue = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def ratio(first: str, second: str) -> float:
    """The contrast ratio of two #rrggbb colours, from 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def lowest_ratio(accent: str) -> float:
    """The accent's weakest contrast against the backgrounds it is used on."""
    return min(ratio(accent, background) for background in BACKGROUNDS)
