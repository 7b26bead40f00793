-- 0004 app tickets: single use of the login tickets that carry a browser
-- session from rise's host to an app host (server/auth apptickets.go).
--
-- A ticket is a short-lived signed token bound to one app host; redeeming it
-- inserts its id here, so a second redemption (replay) conflicts. Every
-- server replica shares the table, so a ticket is single use across
-- replicas. Rows are useless once the ticket has expired and are deleted as
-- new tickets are redeemed.
CREATE TABLE app_tickets (
    id          text        PRIMARY KEY,
    host        text        NOT NULL,
    redeemed_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX app_tickets_expires_idx ON app_tickets (expires_at);
