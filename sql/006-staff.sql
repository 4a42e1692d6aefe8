-- 006: the firm's side: a lead's status and its history, the columns the
-- leads list filters and searches on, and the disclosure the visitor saw.
--
-- leads.urgency and leads.search copy what lead_fields holds (the
-- urgency; name, phone, e-mail and summary folded to lower case by
-- utf8_fold, beyond ASCII: here, for leads already made, SQLite's
-- lower() folds ASCII only until their next merge), written by the
-- merge in its own transaction, so the list filters through an index
-- and searches one column instead of joining lead_fields per lead.
-- The list pages by (updated_at, conversation_id), newest first: each
-- filter has an index in that order, so a page reads what it shows.

ALTER TABLE leads ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'contacted', 'qualified', 'declined', 'spam'));
ALTER TABLE leads ADD COLUMN urgency TEXT;
ALTER TABLE leads ADD COLUMN search TEXT NOT NULL DEFAULT '';

DROP INDEX leads_updated;
CREATE INDEX leads_updated ON leads (updated_at, conversation_id);
CREATE INDEX leads_status ON leads (status, updated_at, conversation_id);
CREATE INDEX leads_urgency ON leads (urgency, updated_at, conversation_id);

UPDATE leads SET urgency = (SELECT value FROM lead_fields f WHERE
    f.conversation_id = leads.conversation_id AND f.field = 'urgency');
UPDATE leads SET search = lower(coalesce((SELECT group_concat(value, ' ')
    FROM lead_fields f WHERE f.conversation_id = leads.conversation_id AND
    f.field IN ('full_name', 'phone', 'email', 'summary')), ''));

-- What staff did about a lead: status changes and notes, who and when.
CREATE TABLE lead_history (
	id		INTEGER PRIMARY KEY,
	conversation_id	TEXT NOT NULL
			    REFERENCES leads(conversation_id) ON DELETE CASCADE,
	at		TEXT NOT NULL,
	by		TEXT NOT NULL,		-- REMOTE_USER, else 'admin'
	status		TEXT,			-- the new status, NULL: unchanged
	note		TEXT
);

CREATE INDEX lead_history_conversation ON lead_history (conversation_id, id);

-- Related leads (same phone or e-mail) are found by value.
CREATE INDEX lead_fields_value ON lead_fields (field, value);

-- The disclosure the page showed before the first message: the SHA-256
-- of its text, and when the visitor first wrote.
ALTER TABLE conversations ADD COLUMN disclosure_sha256 TEXT;
ALTER TABLE conversations ADD COLUMN disclosure_at TEXT;

-- Retention looks for conversations by their last activity.
CREATE INDEX conversations_updated ON conversations (updated_at);

PRAGMA user_version = 6;
