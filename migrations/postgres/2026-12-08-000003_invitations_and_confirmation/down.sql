DROP TABLE invitations;
DROP INDEX access_requests_one_open_per_email;
DELETE FROM access_requests WHERE confirmed_at IS NULL;
CREATE UNIQUE INDEX access_requests_one_open_per_email ON access_requests(contact_email_normalized)
    WHERE status IN ('pending', 'info_requested') AND kind = 'new_account';
ALTER TABLE access_requests DROP COLUMN confirmed_at;
