"""The backends: one interface (``base.StorageBackend``), one class per SQL dialect
(``sqlite``, ``postgres``, each with its schema and its statements or rows), the connection
pool they share, and the registry that opens one from a URL. A backend runs SQL; it never
imports the store."""
