-- Matters handed over by partner systems (issue 7 point 5: the 12345 hotline's items for a
-- street to consult on): the partner's own id of each, so that an item sent again is the same
-- topic, and a record of every batch received or refused, with the reason.
CREATE TABLE partner_topics (
    partner TEXT NOT NULL,
    partner_ref TEXT NOT NULL,
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    received_at TEXT NOT NULL,
    PRIMARY KEY (partner, partner_ref)
);
CREATE INDEX partner_topics_topic ON partner_topics(topic_id);

CREATE TABLE exchange_inbound (
    id INTEGER PRIMARY KEY,
    partner TEXT NOT NULL,
    at TEXT NOT NULL,
    batch TEXT,
    -- accepted (the items each created, already there or refused), refused (the whole batch)
    outcome TEXT NOT NULL,
    reason TEXT,
    created INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    -- JSON list of the refused items: {ref, reason}
    detail TEXT
);
CREATE INDEX exchange_inbound_at ON exchange_inbound(at);
