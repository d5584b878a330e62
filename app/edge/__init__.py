"""The HTTP edge and GitHub access: webhooks, settings, auth, the client, REST reads and writes."""
