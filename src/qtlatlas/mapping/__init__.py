"""Standalone QTL mapping (``qtlatlas map``): loads files, runs the engine, writes tensorQTL-named outputs."""
