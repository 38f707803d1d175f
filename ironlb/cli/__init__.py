"""ironlb/cli."""
