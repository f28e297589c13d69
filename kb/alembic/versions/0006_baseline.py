"""baseline: schema 6, the tables and sequences `filmkb init` made before Alembic (kb/migrations.py
brought older databases to it; they are stamped here). Integer keys draw from named sequences (DuckDB has no
SERIAL); created_by defaults to the login (`login()` compiles per engine). Views and the audit triggers are
not Alembic's: schema/views/*.sql and kb/engines install them.

Revision ID: 0006_baseline
Revises: 
Create Date: 2026-12-03 17:16:34.919943

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

from filmkb.schema.tables import login

# revision identifiers, used by Alembic.
revision: str = '0006_baseline'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


SEQUENCES = ('audit_log_id_seq', 'material_id_seq', 'film_phase_id_seq', 'ingest_batch_id_seq', 'property_source_id_seq', 'method_id_seq', 'reference_id_seq', 'substrate_id_seq', 'suggestion_id_seq', 'film_id_seq', 'interface_match_id_seq', 'prediction_id_seq', 'shap_value_id_seq')


def upgrade() -> None:
    """Upgrade schema."""
    for name in SEQUENCES:
        op.execute(sa.schema.CreateSequence(sa.Sequence(name), if_not_exists=True))
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('audit_log_id_seq')"), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('op', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('row_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('old_values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('new_values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('film_materials',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('material_id_seq')"), nullable=False),
    sa.Column('composition', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('formula', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('family', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('li_per_formula_unit', sa.Double(), nullable=False),
    sa.Column('nominal', sa.Boolean(), nullable=False),
    sa.Column('li_per_o12', sa.Double(), nullable=True),
    sa.Column('dopant_elements', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('dopant_per_o12', sa.Double(), nullable=True),
    sa.Column('ta_per_o12', sa.Double(), nullable=True),
    sa.Column('al_per_o12', sa.Double(), nullable=True),
    sa.Column('ga_per_o12', sa.Double(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('composition')
    )
    op.create_table('film_phases',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('film_phase_id_seq')"), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('formula', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('crystal_system', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('space_group', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('lattice_a_angstrom', sa.Double(), nullable=True),
    sa.Column('lattice_c_angstrom', sa.Double(), nullable=True),
    sa.Column('cte_per_k', sa.Double(), nullable=True),
    sa.Column('poisson_ratio', sa.Double(), nullable=True),
    sa.Column('youngs_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('bulk_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('shear_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('is_descriptor_reference', sa.Boolean(), nullable=False),
    sa.Column('prototype_sites', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ingest_batches',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('ingest_batch_id_seq')"), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sources', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('model_runs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('config_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('code_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('data_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('n_films', sa.Integer(), nullable=False),
    sa.Column('metrics_json', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('models_dir', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('property_sources',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('property_source_id_seq')"), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entity_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('property', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('unit_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('schema_migrations',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('applied_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('deposition_methods',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('method_id_seq')"), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('family', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('publications',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('reference_id_seq')"), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('doi', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('authors', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('journal', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('volume', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('pages', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('seed_ref', sa.Integer(), nullable=True),
    sa.Column('bibtex', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('run_artifacts',
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], ),
    sa.PrimaryKeyConstraint('run_id', 'name')
    )
    op.create_table('substrates',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('substrate_id_seq')"), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('formula', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('amorphous', sa.Boolean(), nullable=False),
    sa.Column('crystal_system', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('space_group', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lattice_a_angstrom', sa.Double(), nullable=True),
    sa.Column('lattice_b_angstrom', sa.Double(), nullable=True),
    sa.Column('lattice_c_angstrom', sa.Double(), nullable=True),
    sa.Column('cte_per_k', sa.Double(), nullable=True),
    sa.Column('poisson_ratio', sa.Double(), nullable=True),
    sa.Column('youngs_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('bulk_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('shear_modulus_gpa', sa.Double(), nullable=True),
    sa.Column('dielectric_constant', sa.Double(), nullable=True),
    sa.Column('dielectric_imputed', sa.Boolean(), nullable=False),
    sa.Column('melting_point_k', sa.Double(), nullable=True),
    sa.Column('melting_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('prototype_sites', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('misfit', sa.Double(), nullable=True),
    sa.Column('misfit_supercell_n', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('suggestion_id_seq')"), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('model_run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('in_domain', sa.Boolean(), nullable=False),
    sa.Column('goal', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('substrate', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('substrate_orientation', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('composition', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('deposition_temp_c', sa.Double(), nullable=False),
    sa.Column('thickness_nm', sa.Double(), nullable=False),
    sa.Column('measurement_temp_c', sa.Double(), nullable=False),
    sa.Column('neg_log10_sigma_mean', sa.Double(), nullable=False),
    sa.Column('neg_log10_sigma_std', sa.Double(), nullable=False),
    sa.Column('sigma_low_s_cm', sa.Double(), nullable=False),
    sa.Column('sigma_high_s_cm', sa.Double(), nullable=False),
    sa.Column('domain_distance', sa.Double(), nullable=True),
    sa.Column('domain_threshold', sa.Double(), nullable=True),
    sa.Column('out_of_range', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('films',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('film_id_seq')"), nullable=False),
    sa.Column('reference_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('method_id', sa.Integer(), nullable=False),
    sa.Column('substrate_id', sa.Integer(), nullable=False),
    sa.Column('substrate_orientation', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('precursors', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('deposition_temp_c', sa.Double(), nullable=False),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('thickness_nm', sa.Double(), nullable=True),
    sa.Column('conductivity_s_cm', sa.Double(), nullable=False),
    sa.Column('measurement_temp_c', sa.Double(), nullable=False),
    sa.Column('measurement_temp_assumed', sa.Boolean(), nullable=False),
    sa.Column('activation_energy_ev', sa.Double(), nullable=True),
    sa.Column('conductivity_25c_s_cm', sa.Double(), nullable=True),
    sa.Column('conductivity_25c_derived', sa.Boolean(), nullable=False),
    sa.Column('composition_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('method_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('substrate_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('phase_as_given', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('figure6_subset', sa.Boolean(), nullable=False),
    sa.Column('source_table', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('source_line', sa.Integer(), nullable=True),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'], ),
    sa.ForeignKeyConstraint(['duplicate_of'], ['films.id'], ),
    sa.ForeignKeyConstraint(['material_id'], ['film_materials.id'], ),
    sa.ForeignKeyConstraint(['method_id'], ['deposition_methods.id'], ),
    sa.ForeignKeyConstraint(['reference_id'], ['publications.id'], ),
    sa.ForeignKeyConstraint(['substrate_id'], ['substrates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('interface_matches',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('interface_match_id_seq')"), nullable=False),
    sa.Column('substrate_id', sa.Integer(), nullable=False),
    sa.Column('substrate_orientation', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('film_phase', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('film_miller', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('match_area_angstrom2', sa.Double(), nullable=False),
    sa.Column('von_mises_strain', sa.Double(), nullable=False),
    sa.Column('strain_xx', sa.Double(), nullable=False),
    sa.Column('strain_yy', sa.Double(), nullable=False),
    sa.Column('strain_xy', sa.Double(), nullable=False),
    sa.Column('pymatgen_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['substrate_id'], ['substrates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('method_aliases',
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('method_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['method_id'], ['deposition_methods.id'], ),
    sa.PrimaryKeyConstraint('alias')
    )
    op.create_table('substrate_aliases',
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('substrate_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['substrate_id'], ['substrates.id'], ),
    sa.PrimaryKeyConstraint('alias')
    )
    op.create_table('predictions',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('prediction_id_seq')"), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('film_id', sa.Integer(), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fold', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('neg_log10_sigma_mean', sa.Double(), nullable=False),
    sa.Column('neg_log10_sigma_std', sa.Double(), nullable=True),
    sa.Column('conditions_json', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.ForeignKeyConstraint(['film_id'], ['films.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('shap_values',
    sa.Column('id', sa.Integer(), server_default=sa.text("nextval('shap_value_id_seq')"), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('film_id', sa.Integer(), nullable=False),
    sa.Column('descriptor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('shap_value', sa.Double(), nullable=False),
    sa.Column('base_value', sa.Double(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), server_default=login(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=True),
    sa.ForeignKeyConstraint(['film_id'], ['films.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    # filmkb reads its schema version here (kb/migrations.py); 6 is the schema this revision equals
    op.execute("INSERT INTO schema_migrations (version, description, applied_at) "
               "VALUES (6, 'initial schema (Alembic baseline)', CURRENT_TIMESTAMP)")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('shap_values')
    op.drop_table('predictions')
    op.drop_table('substrate_aliases')
    op.drop_table('method_aliases')
    op.drop_table('interface_matches')
    op.drop_table('films')
    op.drop_table('suggestions')
    op.drop_table('substrates')
    op.drop_table('run_artifacts')
    op.drop_table('publications')
    op.drop_table('deposition_methods')
    op.drop_table('schema_migrations')
    op.drop_table('property_sources')
    op.drop_table('model_runs')
    op.drop_table('ingest_batches')
    op.drop_table('film_phases')
    op.drop_table('film_materials')
    op.drop_table('audit_log')
    for name in SEQUENCES:
        op.execute(sa.schema.DropSequence(sa.Sequence(name), if_exists=True))
