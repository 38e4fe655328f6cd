"""``python -m corridor.cli``."""

from corridor.cli import main

if __name__ == "__main__":
    main()
