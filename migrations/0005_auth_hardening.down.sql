DROP INDEX IF EXISTS auth_requests_client_ip_idx;
ALTER TABLE auth_requests DROP COLUMN IF EXISTS client_ip;
DROP TABLE IF EXISTS token_cutoffs;
DROP TABLE IF EXISTS revoked_tokens;
DROP TABLE IF EXISTS user_identities;
