"""Record types shared by every stage, and their Arrow schemas.

Three kinds of record leave the pipeline, and every input record becomes exactly one of them:
DOCUMENT (kept), REJECTION (dropped by a filter or dedup, with the full text and the reason)
and ERROR (could not be parsed; the raw bytes are kept). The Arrow schemas carry a
``schema_version`` in their metadata so readers can refuse files they do not understand.
"""

from gristmill.schemas.records import (
    DOCUMENT_SCHEMA,
    ERROR_SCHEMA,
    REJECTION_SCHEMA,
    SCHEMA_VERSION,
    Document,
    ErrorRecord,
    Rejection,
    documents_to_table,
    entries_to_dict,
    entries_type,
    errors_to_table,
    rejections_to_table,
    repair_text,
    table_to_documents,
)

# The output directories of a run, one per record kind, in this order everywhere.
OUTPUT_KINDS = ("kept", "rejected", "errors")

__all__ = [
    "OUTPUT_KINDS",
    "DOCUMENT_SCHEMA",
    "ERROR_SCHEMA",
    "REJECTION_SCHEMA",
    "SCHEMA_VERSION",
    "Document",
    "ErrorRecord",
    "Rejection",
    "documents_to_table",
    "entries_to_dict",
    "entries_type",
    "errors_to_table",
    "rejections_to_table",
    "repair_text",
    "table_to_documents",
]
