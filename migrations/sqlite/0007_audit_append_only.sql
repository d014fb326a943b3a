-- The audit log is append-only. An entry cannot be changed, except that an
-- erasure may blank a detail that names the erased person; it can be deleted
-- only once older than 180 days (the retention job keeps entries for
-- security.audit_retention_months, at least six months).
create trigger audit_log_append_only before update on audit_log
when new.id is not old.id or new.at is not old.at or new.actor_kind is not old.actor_kind
    or new.actor_id is not old.actor_id or new.actor_label is not old.actor_label or new.action is not old.action
    or new.subject_kind is not old.subject_kind or new.subject_id is not old.subject_id
    or new.row_count is not old.row_count
begin
    select raise(abort, 'the audit log is append-only');
end;

create trigger audit_log_kept before delete on audit_log
when old.at > (cast(strftime('%s', 'now') as integer) - 180 * 86400) * 1000000
begin
    select raise(abort, 'audit entries are kept at least six months');
end;

-- The admin's audit page filters by actor and action, newest first.
create index audit_log_actor on audit_log (actor_id, id);
create index audit_log_action on audit_log (action, id);
