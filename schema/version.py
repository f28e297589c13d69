"""The schema version this code writes, apart from the tables so that reading it imports no SQLModel."""

# 2: composition features of film_materials; 3: conductivity at 25 C, batch of methods; 4: suggestions;
# 5: created_by / created_at of every row and the audit_log (kb/migrations.py upgrades)
# 6: run_artifacts, the files of trained runs (kb/migrations.py upgrades)
SCHEMA_VERSION = 6
