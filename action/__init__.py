"""canon-gate's data plane: the Action that spawns the audit session and writes the report."""
