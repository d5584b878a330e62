"""canon-gate's control plane: the stateless GitHub App."""
