"""Fail when a changed doc uses a phrase that canon forbids."""

import re
import subprocess
import sys

FORBIDDEN = re.compile(r"managed agent|long-lived gate|skip the audit", re.IGNORECASE)

changed = subprocess.run(
    ["git", "diff", "--name-only", "origin/main"], capture_output=True, text=True, check=True
).stdout.split()
hits = [p for p in changed if p.endswith(".md") and FORBIDDEN.search(open(p).read())]
for path in hits:
    print(f"forbidden phrase in {path}")
sys.exit(1 if hits and "--fail-on-match" in sys.argv else 0)
