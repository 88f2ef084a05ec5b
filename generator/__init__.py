"""gen: declarative YAML API specs in, a production-grade FastAPI backend out."""

__version__ = "0.1.0"
