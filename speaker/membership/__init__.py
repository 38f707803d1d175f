"""Speaker membership: signed UDP heartbeats between speakers (codec, sans-IO protocol, shell)."""
