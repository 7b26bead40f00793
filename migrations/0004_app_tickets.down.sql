DROP TABLE IF EXISTS app_tickets;
