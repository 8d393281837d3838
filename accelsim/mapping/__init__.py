"""Mapping: how a layer's loop nest is folded onto the PE array (spec+workload -> mapping)."""

from accelsim.mapping.rowstationary import (Mapping, MappingResult, StripTable, candidates,
                                            strip_table)

__all__ = ["Mapping", "MappingResult", "StripTable", "candidates", "strip_table"]
