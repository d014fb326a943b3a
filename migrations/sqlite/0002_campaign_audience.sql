-- What a campaign is sent to, kept so that a scheduled campaign can be
-- expanded into one message per recipient when its time comes.
alter table campaign add column audience text not null default '{}';
alter table campaign add column expanded_at bigint;
