"""Agent skill bank for NVIDIA TAO: the one Python implementation behind the skills."""

__version__ = "0.1.0"
