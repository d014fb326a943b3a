-- Fair seats (udbudsloven § 2): a meeting may open for answers at a set time,
-- later than its invitations have gone out, and may hand out its seats by a
-- lottery among those who applied before applications_close_at. The draw's
-- seed and time are kept, so the organisers can show how it was made.
alter table meeting add column registration_opens_at bigint;
alter table meeting add column allocation text not null default 'first_come'
    check (allocation in ('first_come', 'lottery'));
alter table meeting add column applications_close_at bigint;
alter table meeting add column draw_seed text;
alter table meeting add column drawn_at bigint;
create index meeting_lottery_due on meeting (applications_close_at) where drawn_at is null;

-- Every change an organiser makes by hand to who has a seat, with the reason
-- given for it: the meeting's own record, kept with the meeting (the audit
-- log has the same entries, but is purged after its retention period).
create table seat_change (
    id uuid primary key,
    meeting_id uuid not null references meeting (id) on delete cascade,
    registration_id uuid references registration (id) on delete set null,
    action text not null,
    reason text not null,
    changed_by text not null,
    changed_at bigint not null
);
create index seat_change_meeting on seat_change (meeting_id, changed_at);
