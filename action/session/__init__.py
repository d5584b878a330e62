"""Spawning one clean, bounded Claude Code session: its environment, its harness, its read guard."""
