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

-- A meeting's own change raises its version once (the guard keeps the
-- update below from counting twice).
create trigger meeting_public_update after update on meeting
when new.public_version = old.public_version
begin
    update meeting set public_version = public_version + 1 where id = new.id;
end;

-- A meeting removed takes its version with it; the site's version rises by
-- more than that, so the sum never comes back to a value it had.
create trigger meeting_public_delete after delete on meeting
begin
    update public_version set version = version + old.public_version + 1 where id = 1;
end;

create trigger programme_item_public_insert after insert on programme_item
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger programme_item_public_update after update on programme_item
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger programme_item_public_delete after delete on programme_item
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

create trigger track_public_insert after insert on track
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger track_public_update after update on track
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger track_public_delete after delete on track
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

create trigger material_public_insert after insert on material
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger material_public_update after update on material
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger material_public_delete after delete on material
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

create trigger meeting_report_public_insert after insert on meeting_report
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger meeting_report_public_update after update on meeting_report
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger meeting_report_public_delete after delete on meeting_report
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

create trigger report_section_public_insert after insert on report_section
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger report_section_public_update after update on report_section
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger report_section_public_delete after delete on report_section
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

-- A held meeting's page names the organisations of those who agreed to be
-- listed: only their registrations count.
create trigger registration_public_insert after insert on registration
when new.list_organisation
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger registration_public_update after update on registration
when old.list_organisation or new.list_organisation
begin update meeting set public_version = public_version + 1 where id = new.meeting_id; end;
create trigger registration_public_delete after delete on registration
when old.list_organisation
begin update meeting set public_version = public_version + 1 where id = old.meeting_id; end;

-- Organisation names and who belongs where show on held meetings' pages.
create trigger organisation_public_update after update of name on organisation
begin update public_version set version = version + 1 where id = 1; end;
create trigger organisation_public_delete after delete on organisation
begin update public_version set version = version + 1 where id = 1; end;
create trigger person_public_update after update of organisation_id on person
when new.organisation_id is not old.organisation_id
begin update public_version set version = version + 1 where id = 1; end;
