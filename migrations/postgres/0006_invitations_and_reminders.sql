-- The organiser's personal message in a meeting's invitations: Markdown
-- with placeholders from a fixed allow-list, rendered per recipient.
alter table meeting add column invitation_message text not null default '';

-- Which reminder each person has had for a meeting: written in the same
-- transaction that queues the reminder, so nobody gets one twice, however
-- many instances run.
create table reminder_sent (
    meeting_id uuid not null references meeting (id) on delete cascade,
    person_id uuid not null references person (id) on delete cascade,
    kind text not null check (kind in ('deadline', 'start')),
    sent_at bigint not null,
    primary key (meeting_id, person_id, kind)
);

-- Slides and papers from a meeting, shown on its public page afterwards.
-- The type is what the content's first bytes say, not what the name says.
create table material (
    id uuid primary key,
    meeting_id uuid not null references meeting (id) on delete cascade,
    filename text not null,
    content_type text not null,
    size bigint not null,
    data bytea not null,
    created_at bigint not null
);
create index material_meeting on material (meeting_id, created_at);
