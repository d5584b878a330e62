"""One module per event behaviour, each doing I/O only: fetch, ask `app.judge`, write."""
