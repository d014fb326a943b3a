-- A campaign that cannot be expanded is tried a few times and then set aside
-- as 'failed' with its reason, so that it never holds back later campaigns.
-- attempts counts the expansions begun, failure holds the reason of the last
-- one that failed, and retry_at is when the next may begin.
alter table campaign add column attempts integer not null default 0;
alter table campaign add column failure text;
alter table campaign add column retry_at bigint;
alter table campaign drop constraint campaign_state_check;
alter table campaign add constraint campaign_state_check
    check (state in ('scheduled', 'sending', 'paused', 'done', 'cancelled', 'failed'));
