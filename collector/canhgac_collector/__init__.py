"""Canh Gác."""
