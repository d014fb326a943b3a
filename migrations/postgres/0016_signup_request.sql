-- A sign-up is a request until its confirmation link is used: the name,
-- organisation, interests and consent typed by whoever asked are kept here,
-- not on the person, so an anonymous request changes nothing about someone
-- already known (a guest, someone who left, a bounced address). Confirming
-- applies the request to the person. Retention deletes unconfirmed requests
-- by the time they were made.
create table signup_request (
    id uuid primary key,
    person_id uuid not null references person (id) on delete cascade,
    name text not null,
    organisation text,
    interests text not null default '',
    language text not null check (language in ('da', 'en')),
    consent_text text not null,
    consent_version text not null,
    method text not null,
    proof text not null,
    requested_at bigint not null,
    confirmed_at bigint,
    token_hash bytea unique
);
create index signup_request_person on signup_request (person_id);
create index signup_request_requested on signup_request (requested_at);
