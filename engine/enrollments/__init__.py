"""Commands on enrollments, each its own transaction: start one, advance it, tick a step ahead, present a PIN or
link at the portal, take an EHR event, onboard many patients at once."""
