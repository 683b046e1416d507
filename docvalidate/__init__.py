"""docvalidate: keep the Python examples in your documentation correct."""

__version__ = "0.1.0"
