-- A meeting's registrations are reduced to totals
-- security.registration_retention_days after it ends: the registrations are
-- counted here by status, track ('' for none) and whether the person was
-- checked in, the organisations that took part are counted without naming
-- anyone, and the registration rows themselves (with their links) are then
-- deleted. A meeting appears in registration_reduction once, when it was
-- reduced; counts read afterwards come from these tables.
create table registration_reduction (
    meeting_id uuid primary key references meeting (id) on delete cascade,
    registrations bigint not null,
    reduced_at bigint not null
);

create table registration_total (
    meeting_id uuid not null references registration_reduction (meeting_id) on delete cascade,
    status text not null check (status in ('invited', 'attending', 'declined', 'waitlisted', 'cancelled')),
    track_key text not null,
    checked_in boolean not null,
    registrations bigint not null,
    primary key (meeting_id, status, track_key, checked_in)
);

-- Per organisation: how many of its people were checked in, and whether one
-- with a seat agreed to have it named on the public list of participants.
-- An organisation erased with its last person takes its counts with it.
create table registration_organisation_total (
    meeting_id uuid not null references registration_reduction (meeting_id) on delete cascade,
    organisation_id uuid not null references organisation (id) on delete cascade,
    checked_in bigint not null,
    listed boolean not null,
    primary key (meeting_id, organisation_id)
);
