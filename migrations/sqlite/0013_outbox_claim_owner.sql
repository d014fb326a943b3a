-- Each claim names the worker that holds it, so that a live worker renews
-- its own claims while it sends and records outcomes only for rows it still
-- holds; another worker takes a row over only once its lease has run out.
alter table outbox add column claimed_by uuid;
