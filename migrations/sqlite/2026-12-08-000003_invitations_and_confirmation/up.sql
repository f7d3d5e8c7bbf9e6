-- Issue 12, item 8: a new access request waits for its requester to confirm the email address
-- (a link in the "we received your request" email) before it enters the queue. Until then
-- `confirmed_at` is NULL: admins never see it and it blocks nobody. Existing rows were
-- submitted under the old rules and count as confirmed.
ALTER TABLE access_requests ADD COLUMN confirmed_at TIMESTAMP;
UPDATE access_requests SET confirmed_at = created_at;
DROP INDEX access_requests_one_open_per_email;
-- One open *confirmed* request per email (new developers only).
CREATE UNIQUE INDEX access_requests_one_open_per_email ON access_requests(contact_email_normalized)
    WHERE status IN ('pending', 'info_requested') AND kind = 'new_account'
      AND confirmed_at IS NOT NULL;

-- Issue 12, item 3: every invitation (to a developer account's team, to an organization's
-- admins, to the ConCat admins) is pending until the invited person accepts it. Nothing is
-- granted before that; the inviter sees only what they typed.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('developer_account', 'organization', 'concat_admin')),
    -- The developer account or organization; NULL for 'concat_admin'.
    target_id TEXT,
    -- 'owner' or 'member' for a developer account; NULL otherwise.
    role TEXT,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    -- The name the inviter typed (never the invitee's own display name).
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'withdrawn')),
    invited_by_user_id TEXT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by_user_id TEXT REFERENCES users(id)
);
CREATE INDEX invitations_target ON invitations(kind, target_id, status);
CREATE INDEX invitations_email ON invitations(email_normalized, status);
