"""The canon model: parse governance documents once, resolve their links, check their structure."""
