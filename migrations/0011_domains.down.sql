DROP TABLE IF EXISTS certmagic_locks;
DROP TABLE IF EXISTS certmagic_data;
DROP TRIGGER IF EXISTS domains_routes_notify ON domains;
DROP FUNCTION IF EXISTS rise_routes_domain();
DROP TABLE IF EXISTS domains;
