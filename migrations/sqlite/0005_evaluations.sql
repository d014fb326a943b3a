-- Evaluations: one questionnaire per meeting, who it was sent to, and the answers.
--
-- An answer row names no person and no link token. It is found again by
-- `response_key`, a SHA-256 of the raw link token under a label of its own,
-- which only the holder of the link can compute: the stored token hash does
-- not lead to it. Whether someone answered is kept as a plain flag on their
-- recipient row, without a time, so answers cannot be matched to people by
-- when they arrived. Only a questionnaire that is not anonymous fills in
-- `person_id`.
create table evaluation (
    meeting_id uuid primary key references meeting (id) on delete cascade,
    questions text not null,
    anonymous boolean not null default true,
    demo boolean not null default false,
    recipients integer not null default 0,
    sent_at bigint,
    closes_at bigint,
    reminder_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);

create table evaluation_recipient (
    meeting_id uuid not null references evaluation (meeting_id) on delete cascade,
    person_id uuid not null references person (id) on delete cascade,
    answered boolean not null default false,
    primary key (meeting_id, person_id)
);

create table evaluation_response (
    id uuid primary key,
    meeting_id uuid not null references evaluation (meeting_id) on delete cascade,
    response_key blob not null unique,
    person_id uuid references person (id) on delete cascade,
    answers text not null
-- Stored in the order of the random id, not of writing: a rowid would keep
-- the order in which people answered.
) without rowid;
create index evaluation_response_meeting on evaluation_response (meeting_id);

-- People who asked to be contacted about the planning group: kept apart from
-- the answers, so volunteering does not reveal what anyone answered.
create table evaluation_volunteer (
    meeting_id uuid not null references evaluation (meeting_id) on delete cascade,
    person_id uuid not null references person (id) on delete cascade,
    primary key (meeting_id, person_id)
);
