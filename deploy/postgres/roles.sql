-- Two roles for one points database (PostgreSQL): an owner that migrates, and the role the
-- service runs as. Run as a superuser, then `points migrate` as points_owner, then run the
-- servers and projectors as points_app. Replace the passwords (or use your secret store).
--
-- Why not privileges alone: the event-sourcing library serialises appends with
-- LOCK TABLE ... IN EXCLUSIVE MODE, which PostgreSQL grants only to a role holding UPDATE
-- (or DELETE/TRUNCATE) on the table. So points_app keeps UPDATE, and `points migrate`
-- (running as points_owner) installs triggers that refuse UPDATE, DELETE and TRUNCATE on
-- the event log and its hash chain, and on the read audit's access_records. Only the
-- table's owner (or a superuser) can disable them, and points_app owns nothing.

CREATE ROLE points_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE points_app LOGIN PASSWORD 'change-me-app';
CREATE DATABASE points OWNER points_owner;

\connect points
CREATE SCHEMA IF NOT EXISTS points AUTHORIZATION points_owner;
GRANT USAGE ON SCHEMA points TO points_app;

-- Tables that `points migrate` (as points_owner) creates later get these grants:
ALTER DEFAULT PRIVILEGES FOR ROLE points_owner IN SCHEMA points
  GRANT SELECT, INSERT, UPDATE ON TABLES TO points_app;          -- UPDATE: only for the library's lock; triggers refuse it
ALTER DEFAULT PRIVILEGES FOR ROLE points_owner IN SCHEMA points
  GRANT USAGE, SELECT ON SEQUENCES TO points_app;
-- The views (balances, audit, rankings) are rewritten by the projector and rebuilt by operators:
-- after `points migrate`, grant DELETE on them (never on points_events or points_chain):
--   GRANT DELETE ON points.balance_lines, points.balance_dimensions, points.balance_caps,
--     points.pay_periods, points.pay_rules, points.audit_events, points.audit_corrections, points.balances_tracking TO points_app;
--
-- Database URLs:
--   migrate:  postgresql://points_owner:...@db:5432/points?schema=points   (points migrate)
--   service:  postgresql://points_app:...@db:5432/points?schema=points     (points serve --no-migrate, points project)
