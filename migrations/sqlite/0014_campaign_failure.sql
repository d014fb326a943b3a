-- no-transaction
-- A campaign that cannot be expanded is tried a few times and then set aside
-- as 'failed' with its reason, so that it never holds back later campaigns.
-- attempts counts the expansions begun, failure holds the reason of the last
-- one that failed, and retry_at is when the next may begin.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- (https://sqlite.org/lang_altertable.html#otheralter). Foreign keys are
-- off meanwhile: with them on, dropping the old table would first delete
-- its rows and, by cascade, every outbox row of a campaign. The pragma only
-- takes effect outside a transaction, hence "no-transaction" above and the
-- explicit transaction below.
pragma foreign_keys = off;
begin immediate;
create table campaign_new (
    id uuid primary key,
    kind text not null,
    meeting_id uuid references meeting (id) on delete set null,
    subject text not null default '',
    state text not null check (state in ('scheduled', 'sending', 'paused', 'done', 'cancelled', 'failed')),
    scheduled_at bigint not null,
    created_by uuid references app_user (id) on delete set null,
    created_at bigint not null,
    total integer not null default 0,
    audience text not null default '{}',
    expanded_at bigint,
    attempts integer not null default 0,
    failure text,
    retry_at bigint
);
insert into campaign_new (id, kind, meeting_id, subject, state, scheduled_at, created_by, created_at, total, audience, expanded_at)
    select id, kind, meeting_id, subject, state, scheduled_at, created_by, created_at, total, audience, expanded_at from campaign;
drop table campaign;
alter table campaign_new rename to campaign;
commit;
pragma foreign_keys = on;
