"""Generated from protos/points/v1 by `make client-proto`; never edit by hand."""
