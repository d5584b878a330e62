"""Faithful fakes of canon-gate's real dependencies, shared by every test folder."""
