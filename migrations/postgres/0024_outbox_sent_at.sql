-- The daily sending cap counts what was handed over in the last 24 hours.
create index outbox_sent_at on outbox (sent_at) where status = 'sent';
