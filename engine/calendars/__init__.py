"""Clinic calendars: per site an IANA zone, weekly hours, public holidays and closures, and the next open moment
with the reason it is not earlier (`site_calendar`); read and written by `store`."""
