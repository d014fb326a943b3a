-- Links mailed to an organiser: to reset a forgotten password, or to set the
-- first one when an admin invites them. Stored only as the SHA-256 of the
-- token; each works once and until it expires.
create table account_link (
    hash blob primary key,
    user_id uuid not null references app_user (id) on delete cascade,
    purpose text not null check (purpose in ('reset', 'invite')),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index account_link_user on account_link (user_id, created_at);
