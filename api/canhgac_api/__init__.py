"""Canh Gác HTTP API for the provincial data center."""

__version__ = "0.1.0"
