"""Run xinan from a checkout without installing it: ``python cli.py --help``.

The command group lives in :mod:`xinan.cli`; this file only calls it.
"""

from xinan.cli import main

if __name__ == "__main__":
    main()
