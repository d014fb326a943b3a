-- API tokens may carry an expiry (microseconds since the epoch); null = none.
alter table api_token add column expires_at bigint;
