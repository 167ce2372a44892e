"""qtlatlas: build, publish and serve multi-tissue molecular-QTL atlases."""

__version__ = "0.1.0"
