-- What people wrote on their registrations for a meeting (diet, access needs,
-- comment) is deleted security.sensitive_retention_days after it ends; the
-- number of registrations with a seat that had each is kept here in its place.
create table registration_note_count (
    meeting_id uuid primary key references meeting (id) on delete cascade,
    diet bigint not null,
    access_needs bigint not null,
    comments bigint not null,
    purged_at bigint not null
);
