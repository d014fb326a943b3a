-- Addresses that must not be put on the list again by anyone but the person
-- themselves: those who left the list and those whose data was erased. Only
-- the SHA-256 of the normalised (trimmed, lower-case) address is kept, with
-- why and since when; no name, no id, nothing else about the person, so the
-- row outlives an erasure. A sign-up the person confirms themselves removes it.
-- People who left before this table existed are still known by their person
-- row (status 'unsubscribed'), which the check reads too.
create table suppressed_address (
    address_sha256 blob primary key,
    reason text not null check (reason in ('unsubscribed', 'erased')),
    since bigint not null
);

-- The track whose seat the person who answered an evaluation held, kept with
-- the anonymous answer so that results can be broken down by track. A group
-- with fewer answers than evaluation.breakdown_minimum is never shown.
alter table evaluation_response add column track_key text;

-- Free-text answers can be held back until an organiser has read them: with
-- hold_texts set, a text answer shows in the results only once released here.
-- A changed answer is held again. No time is kept, so a release says nothing
-- about when the answer came.
alter table evaluation add column hold_texts boolean not null default false;
create table evaluation_text_release (
    response_id uuid not null references evaluation_response (id) on delete cascade,
    question_key text not null,
    primary key (response_id, question_key)
);
