DROP TABLE api_secrets;
DROP TABLE integrations;
DROP TABLE access_request_messages;
DROP TABLE access_requests;
