-- Consent to name one's organisation on a meeting's public list of
-- participants is given per meeting: the record says which.
alter table consent add column meeting_id uuid references meeting (id) on delete cascade;
create index consent_person_purpose on consent (person_id, purpose);

-- The waiting list in order: its end (max) and a place in it are read with
-- every answer while the meeting is serialised.
create index registration_waitlist on registration (meeting_id, status, waitlist_position);
