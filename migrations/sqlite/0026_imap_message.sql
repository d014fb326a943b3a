-- Messages read from an IMAP mailbox, each recorded in the transaction of what
-- it did (or, for one that meant nothing, before it is marked), so a message
-- fetched again after a crash between handling and marking is only marked.
-- A mailbox is named user@host/folder; UIDs count within one UIDVALIDITY.
create table imap_message (
    mailbox text not null,
    uid_validity bigint not null,
    uid bigint not null,
    outcome text not null,
    handled_at bigint not null,
    primary key (mailbox, uid_validity, uid)
);
