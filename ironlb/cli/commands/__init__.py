"""ironlb/cli/commands."""
