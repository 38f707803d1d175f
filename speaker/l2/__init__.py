"""Layer 2 announcement: ARP/NDP codecs, duplicate probe, responder core and raw-socket shell."""
