"""Pure decisions, no I/O: verdicts, conclusions, plans, commands, and how they are rendered."""
