"""Running one audit: what the session is given (diff, hints, prompt, tools) and what it returns."""
