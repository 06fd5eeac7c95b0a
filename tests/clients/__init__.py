"""The Python client (clients/python) against real servers."""
