-- What a consent record must prove: when it was asked for and when confirmed,
-- exactly which text was shown (its SHA-256), and the evidence (the client's
-- IP address for the web, the Message-ID for mail).
alter table consent add column requested_at bigint;
alter table consent add column confirmed_at bigint;
alter table consent add column text_hash text not null default '';
alter table consent add column proof text not null default '';
update consent set requested_at = given_at, confirmed_at = given_at;
create index outbox_recipient_kind on outbox (recipient, kind, created_at);
-- The forum's recurring themes: the default interests. Organisers may change them.
insert into interest (key, title_da, title_en, position) values
    ('ai', 'Kunstig intelligens', 'Artificial intelligence', 0),
    ('cybersecurity', 'Cybersikkerhed', 'Cybersecurity', 1),
    ('procurement', 'Indkøb og udbud', 'Procurement', 2),
    ('green-it', 'Grøn it', 'Green IT', 3),
    ('data-architecture', 'Data og arkitektur', 'Data and architecture', 4),
    ('welfare-tech', 'Velfærdsteknologi', 'Welfare technology', 5)
on conflict (key) do nothing;
