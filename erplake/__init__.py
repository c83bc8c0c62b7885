"""ERPLake: an open-source school ERP for Indian K-12 schools."""

__version__ = "0.1.0"
