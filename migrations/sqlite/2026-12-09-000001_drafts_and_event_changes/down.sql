ALTER TABLE events DROP COLUMN changed_by_api_id;
ALTER TABLE authorizations DROP COLUMN include_drafts;
