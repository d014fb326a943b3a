-- The SEQUENCE of a meeting's calendar entry (RFC 5545): raised whenever its
-- time or place changes, or it is cancelled, so calendars replace the entry.
alter table meeting add column ical_sequence integer not null default 0;
