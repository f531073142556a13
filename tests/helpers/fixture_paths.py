"""Where the repository's fixtures are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "data_fixtures"
GOLDEN = FIXTURES / "golden"
DEMO = FIXTURES / "demo"
