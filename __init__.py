"""filmkb: a knowledge base and ML toolkit for ionic conductivity of garnet thin films.

The repository root is the package; see README.md for the data flow
(ingest -> schema tables -> SQL views -> descriptor matrix -> ml -> stored back).
"""

__version__ = "0.1.0"
