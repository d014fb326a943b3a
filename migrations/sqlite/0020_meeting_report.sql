-- The report after a meeting: its working copy (sections in order) and where
-- it stands, draft -> approved -> published. What the public page shows and
-- the mail carries is the copy taken when it was last published
-- (published_sections, a JSON array of {title, body, materials}), so a change after
-- publication stays off the page until it is approved and published again.
create table meeting_report (
    meeting_id uuid primary key references meeting (id) on delete cascade,
    state text not null check (state in ('draft', 'approved', 'published')),
    updated_at bigint not null,
    approved_at bigint,
    published_at bigint,
    published_sections text
);

create table report_section (
    meeting_id uuid not null references meeting_report (meeting_id) on delete cascade,
    position integer not null,
    title text not null,
    body text not null,
    -- The meeting's files that belong with this section: a JSON array of ids.
    materials text not null default '[]',
    primary key (meeting_id, position)
);

-- Materials released at a set time: hidden from the public page until then
-- (without a time they show once the meeting is over, as before), and mailed
-- to everyone at that minute by a campaign. material_release records which
-- files each such campaign carried; its outbox rows say to whom and when.
alter table material add column release_at bigint;

create table material_release (
    campaign_id uuid not null references campaign (id) on delete cascade,
    material_id uuid not null references material (id) on delete cascade,
    primary key (campaign_id, material_id)
);
