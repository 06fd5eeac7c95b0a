"""The hostile-client suite: each test is an attack, made as a client would make it, against a real server.

The state fixtures are the API tests' (a staffed outlet, signing keys, a SQLite-only service).
"""

from tests.api.conftest import keys, sqlite_service, staffed_outlet  # noqa: F401  (fixtures)
