"""vocmap: the PASCAL VOC2007 devkit's detection AP, bit for bit, fast."""

__version__ = "0.1.0"
