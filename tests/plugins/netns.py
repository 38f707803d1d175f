"""Network-namespace fixtures (owned by the netns work)."""
