from tests.school_records import records

__all__ = ["records"]
