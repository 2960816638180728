"""graphc.utils: torch.utils counterparts (data loading)."""
from . import data
