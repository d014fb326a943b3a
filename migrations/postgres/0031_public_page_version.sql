-- What the public pages show has a version: the sum of the meetings' own
-- versions and the site's. Every write that changes a public page raises it,
-- whichever program or instance makes the write, so each instance can keep
-- its rendered pages until the version moves (see web::public::cache).
alter table meeting add column public_version bigint not null default 1;

create table public_version (
    id integer primary key check (id = 1),
    version bigint not null
);
insert into public_version (id, version) values (1, 0);

-- A meeting's own change raises its version once (the updates below, which
-- raise it themselves, are not counted twice).
create function meeting_public_update() returns trigger language plpgsql as $$
begin
    if new.public_version = old.public_version then
        new.public_version := old.public_version + 1;
    end if;
    return new;
end
$$;
create trigger meeting_public_update before update on meeting
for each row execute function meeting_public_update();

-- A meeting removed takes its version with it; the site's version rises by
-- more than that, so the sum never comes back to a value it had.
create function meeting_public_delete() returns trigger language plpgsql as $$
begin
    update public_version set version = version + old.public_version + 1 where id = 1;
    return null;
end
$$;
create trigger meeting_public_delete after delete on meeting
for each row execute function meeting_public_delete();

-- A row that belongs to a meeting's page raises the meeting's version.
create function meeting_part_public_change() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        update meeting set public_version = public_version + 1 where id = old.meeting_id;
    else
        update meeting set public_version = public_version + 1 where id = new.meeting_id;
    end if;
    return null;
end
$$;
create trigger programme_item_public_change after insert or update or delete on programme_item
for each row execute function meeting_part_public_change();
create trigger track_public_change after insert or update or delete on track
for each row execute function meeting_part_public_change();
create trigger material_public_change after insert or update or delete on material
for each row execute function meeting_part_public_change();
create trigger meeting_report_public_change after insert or update or delete on meeting_report
for each row execute function meeting_part_public_change();
create trigger report_section_public_change after insert or update or delete on report_section
for each row execute function meeting_part_public_change();

-- A held meeting's page names the organisations of those who agreed to be
-- listed: only their registrations count.
create trigger registration_public_insert after insert on registration
for each row when (new.list_organisation) execute function meeting_part_public_change();
create trigger registration_public_update after update on registration
for each row when (old.list_organisation or new.list_organisation) execute function meeting_part_public_change();
create trigger registration_public_delete after delete on registration
for each row when (old.list_organisation) execute function meeting_part_public_change();

-- Organisation names and who belongs where show on held meetings' pages.
create function site_public_change() returns trigger language plpgsql as $$
begin
    update public_version set version = version + 1 where id = 1;
    return null;
end
$$;
create trigger organisation_public_change after update of name or delete on organisation
for each row execute function site_public_change();
create trigger person_public_change after update of organisation_id on person
for each row when (new.organisation_id is distinct from old.organisation_id) execute function site_public_change();
