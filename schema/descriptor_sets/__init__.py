"""The registered descriptor sets: one module per set, each defining SET (see schema/descriptors.py)."""
