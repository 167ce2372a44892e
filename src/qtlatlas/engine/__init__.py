"""Numerical engine: arrays in, arrays (or tables) out. Nothing here reads files or configuration."""
