"""First run: the registration pages, GitHub's App Manifest flow and the .env writer."""
