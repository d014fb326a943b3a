-- The audit log is append-only. An entry cannot be changed, except that an
-- erasure may blank a detail that names the erased person; it can be deleted
-- only once older than 180 days (the retention job keeps entries for
-- security.audit_retention_months, at least six months).
create function audit_log_guard() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        if old.at > (extract(epoch from now())::bigint - 180 * 86400) * 1000000 then
            raise exception 'audit entries are kept at least six months';
        end if;
        return old;
    end if;
    if (new.id, new.at, new.actor_kind, new.actor_id, new.actor_label, new.action, new.subject_kind,
        new.subject_id, new.row_count)
        is distinct from (old.id, old.at, old.actor_kind, old.actor_id, old.actor_label, old.action,
        old.subject_kind, old.subject_id, old.row_count) then
        raise exception 'the audit log is append-only';
    end if;
    return new;
end
$$;

create trigger audit_log_guard before update or delete on audit_log
    for each row execute function audit_log_guard();

-- The admin's audit page filters by actor and action, newest first.
create index audit_log_actor on audit_log (actor_id, id);
create index audit_log_action on audit_log (action, id);
