"""The clients in clients/ (Python, Node) against real servers."""
