"""Generated from protos/points/v1 by `make proto`; never edit by hand."""
