"""List markdown links whose target no longer exists. A hint for the canon session, never a gate."""

import re
import sys
from pathlib import Path

LINK = re.compile(r"\]\(([^)#\s]+)")

for doc in Path(".").rglob("*.md"):
    for target in LINK.findall(doc.read_text()):
        if "://" not in target and not (doc.parent / target).exists():
            print(f"{doc}: {target}")
sys.exit(0)
