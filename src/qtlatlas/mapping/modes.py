"""The mapping modes of ``qtlatlas map`` (tensorQTL's names), in a module of their own so that the command
line can list them without importing the engine."""

MODES = ("cis", "cis_nominal", "cis_independent", "trans", "afc", "cis_susie")
