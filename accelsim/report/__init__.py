"""Report: results as a pandas DataFrame and as table / CSV / JSON files."""

from accelsim.report.report import report_dict, report_frame, write_report

__all__ = ["report_dict", "report_frame", "write_report"]
