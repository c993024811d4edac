"""`dlm-desktop` command line (placeholder until the inspect command lands)."""

def main(argv=None) -> int:
    return 0
