"""The registered model families: one module per family, each defining FAMILY (see ml/registry.py)."""
