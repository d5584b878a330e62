"""The ledger branch: its records (pure) and the Git Data store that writes and reads them."""
