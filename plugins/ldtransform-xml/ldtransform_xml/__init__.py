"""Record-oriented XML for ldtransform: a streaming reader and a writer."""

from ldtransform_xml.reader import XmlReader
from ldtransform_xml.writer import XmlWriter

__all__ = ["XmlReader", "XmlWriter"]
