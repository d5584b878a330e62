"""First run and the operator's pages: registration, GitHub's App Manifest flow, the .env writer
and the admin token that guards those pages."""
