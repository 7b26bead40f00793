DROP TABLE IF EXISTS service_accounts;
DROP TABLE IF EXISTS auth_requests;
