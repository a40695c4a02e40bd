"""The package's version, in a module that imports nothing (read by hatch at build time)."""

__version__ = "0.1.0"
