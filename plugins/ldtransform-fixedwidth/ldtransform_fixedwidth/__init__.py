"""Fixed-width exports of older systems, read by a TOML layout: an ldtransform plugin."""

from ldtransform_fixedwidth.layout import Field, Layout, load_layout
from ldtransform_fixedwidth.reader import FixedWidthReader

__all__ = ["Field", "FixedWidthReader", "Layout", "load_layout"]
