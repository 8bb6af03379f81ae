"""Messages: designers' templates rendered in the sandbox (and checked before publishing), the outbox's sealed
secrets, contact caps and send windows, and the delivery worker with its channels (SMTP, a folder of mail)."""
