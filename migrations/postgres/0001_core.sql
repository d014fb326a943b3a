-- The core schema: people and organisations, consent, meetings and their
-- programme, registrations, link tokens, the mail outbox and campaigns,
-- organiser accounts, sessions, API tokens and the audit log.
-- Instants are UTC microseconds since the Unix epoch (bigint), as on SQLite.

create table organisation (
    id uuid primary key,
    name text not null,
    name_key text not null unique,
    cvr text,
    created_at bigint not null
);

create table person (
    id uuid primary key,
    email text not null unique,
    name text not null,
    organisation_id uuid references organisation (id),
    status text not null check (status in ('guest', 'pending', 'confirmed', 'unsubscribed', 'bounced')),
    language text not null default 'da' check (language in ('da', 'en')),
    soft_bounces integer not null default 0,
    list_consent boolean not null default false,
    created_at bigint not null,
    updated_at bigint not null,
    confirmed_at bigint,
    left_at bigint
);
create index person_status on person (status);
create index person_organisation on person (organisation_id);

create table interest (
    key text primary key,
    title_da text not null,
    title_en text not null,
    position integer not null
);

create table person_interest (
    person_id uuid not null references person (id) on delete cascade,
    interest_key text not null references interest (key) on delete cascade,
    primary key (person_id, interest_key)
);

create table consent (
    id uuid primary key,
    person_id uuid not null references person (id) on delete cascade,
    purpose text not null,
    text_shown text not null,
    text_version text not null,
    method text not null check (method in ('web', 'email', 'import', 'api', 'demo')),
    given_at bigint not null,
    withdrawn_at bigint
);
create index consent_person on consent (person_id);

create table meeting (
    id uuid primary key,
    number integer unique,
    title text not null,
    description text not null default '',
    themes jsonb not null default '[]',
    starts_at bigint not null,
    ends_at bigint not null,
    format text not null check (format in ('physical', 'virtual', 'hybrid')),
    venue text not null default '',
    online_url text not null default '',
    capacity integer,
    per_organisation_limit integer,
    registration_deadline bigint,
    status text not null check (status in ('draft', 'published', 'open', 'closed', 'held', 'evaluated', 'archived', 'cancelled')),
    created_at bigint not null,
    updated_at bigint not null,
    check (ends_at >= starts_at)
);
create index meeting_starts_at on meeting (starts_at);

create table track (
    meeting_id uuid not null references meeting (id) on delete cascade,
    key text not null,
    title text not null,
    capacity integer,
    position integer not null,
    primary key (meeting_id, key)
);

create table programme_item (
    id uuid primary key,
    meeting_id uuid not null references meeting (id) on delete cascade,
    position integer not null,
    starts_at bigint,
    ends_at bigint,
    title text not null,
    description text not null default '',
    speakers jsonb not null default '[]',
    track_key text,
    cancelled boolean not null default false
);
create index programme_item_meeting on programme_item (meeting_id, position);

create table registration (
    id uuid primary key,
    meeting_id uuid not null references meeting (id) on delete cascade,
    person_id uuid not null references person (id) on delete cascade,
    status text not null check (status in ('invited', 'attending', 'declined', 'waitlisted', 'cancelled')),
    track_key text,
    diet text not null default '',
    access_needs text not null default '',
    comment text not null default '',
    list_organisation boolean not null default false,
    waitlist_position bigint,
    answered_at bigint,
    checked_in_at bigint,
    replaced_by uuid references registration (id),
    created_at bigint not null,
    updated_at bigint not null,
    unique (meeting_id, person_id)
);
create index registration_meeting_status on registration (meeting_id, status);

create table link_token (
    hash bytea primary key,
    purpose text not null check (purpose in ('confirm', 'rsvp', 'evaluation', 'unsubscribe', 'profile')),
    person_id uuid references person (id) on delete cascade,
    registration_id uuid references registration (id) on delete cascade,
    created_at bigint not null,
    expires_at bigint,
    used_at bigint
);
create index link_token_person on link_token (person_id);

create table app_user (
    id uuid primary key,
    email text not null unique,
    name text not null default '',
    role text not null check (role in ('admin', 'organiser', 'viewer')),
    password_hash text not null,
    created_at bigint not null,
    password_changed_at bigint not null,
    disabled_at bigint
);

create table user_session (
    hash bytea primary key,
    user_id uuid not null references app_user (id) on delete cascade,
    created_at bigint not null,
    last_seen_at bigint not null
);
create index user_session_user on user_session (user_id);

create table api_token (
    id uuid primary key,
    user_id uuid not null references app_user (id) on delete cascade,
    name text not null default '',
    hash bytea not null unique,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);

create table campaign (
    id uuid primary key,
    kind text not null,
    meeting_id uuid references meeting (id) on delete set null,
    subject text not null default '',
    state text not null check (state in ('scheduled', 'sending', 'paused', 'done', 'cancelled')),
    scheduled_at bigint not null,
    created_by uuid references app_user (id) on delete set null,
    created_at bigint not null,
    total integer not null default 0
);

create table outbox (
    id uuid primary key,
    campaign_id uuid references campaign (id) on delete cascade,
    person_id uuid references person (id) on delete set null,
    kind text not null,
    recipient text not null,
    message_id text not null unique,
    raw bytea,
    status text not null check (status in ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts integer not null default 0,
    next_attempt_at bigint not null,
    lease_until bigint,
    last_error text not null default '',
    created_at bigint not null,
    sent_at bigint
);
create index outbox_due on outbox (status, next_attempt_at);
create index outbox_campaign on outbox (campaign_id, status);
create unique index outbox_campaign_recipient on outbox (campaign_id, recipient) where campaign_id is not null;

create table audit_log (
    id bigserial primary key,
    at bigint not null,
    actor_kind text not null,
    actor_id uuid,
    actor_label text not null default '',
    action text not null,
    subject_kind text not null default '',
    subject_id uuid,
    detail text not null default '',
    row_count bigint
);
create index audit_log_at on audit_log (at);
create index audit_log_subject on audit_log (subject_id);

create table login_attempt (
    key text not null,
    at bigint not null
);
create index login_attempt_key on login_attempt (key, at);
