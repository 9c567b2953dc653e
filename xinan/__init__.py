"""信安 xinan: privacy-preserving exchange of public credit data.

The public surface: load a policy, mask records for an audience, validate identifiers.
Lower layers (``xinan.crypto``) are for the recipes in this package, not for callers.
"""

from xinan.errors import XinanError

__version__ = "0.1.0"
__all__ = ["XinanError", "__version__"]
