"""What every PortalFlow process does on its own, besides answering requests: fire the timers that fell due, through
the engine, and send what the outbox holds — one round at a time, on an in-process schedule."""
