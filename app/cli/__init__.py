"""The `canon-gate` command and its subcommands."""
