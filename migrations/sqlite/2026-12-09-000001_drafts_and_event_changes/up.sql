-- Draft events reach an integration only if the organization chose so for that authorization
-- (default: they do not). And an event remembers whether its last change came from an
-- integration (its API ID) or from the organization's own admins (NULL).
ALTER TABLE authorizations ADD COLUMN include_drafts BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN changed_by_api_id TEXT;
