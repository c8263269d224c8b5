"""The service layer: one function per use case, each run inside ``worker.db.transaction``."""
