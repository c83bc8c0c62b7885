"""Imports every domain's tasks module so their handlers are registered."""
