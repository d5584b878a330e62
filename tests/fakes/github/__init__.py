"""A faithful fake of GitHub for canon-gate's tests: REST routes, web host and webhook sender."""

from .deliveries import Delivery, sign
from .errors import GitHubError
from .payloads import load_example
from .server import Call, FakeGitHub, Violation
from .state import App, CheckRun, Installation, Pull, Repo, Token, WorkflowRun

__all__ = [
    "App",
    "Call",
    "CheckRun",
    "Delivery",
    "FakeGitHub",
    "GitHubError",
    "Installation",
    "Pull",
    "Repo",
    "Token",
    "Violation",
    "WorkflowRun",
    "load_example",
    "sign",
]
