"""`python -m codefavor` runs the CLI."""

from codefavor.cli import main

if __name__ == "__main__":
    main()
