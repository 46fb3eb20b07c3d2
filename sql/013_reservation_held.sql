-- 013_reservation_held: a credit reservation is written in two steps, so the
-- request path holds no transaction open across round trips (on a Galera
-- cluster every open transaction on the hot billing period row is a
-- certification conflict waiting to happen). First the row is inserted with
-- held = 0 (a new row, which conflicts with nothing); then one conditional
-- multi-table UPDATE adds its amount to the period's reserved_usd and sets
-- held = 1, both or neither. A row still at held = 0 holds nothing: it is the
-- trace of a request refused or killed between the two steps, and is removed
-- without touching reserved_usd. Rows that existed before are held (DEFAULT 1).
-- billing_periods.reserved_usd is the sum of amount_usd over held rows.
-- Safe to rerun (ADD COLUMN IF NOT EXISTS).

ALTER TABLE credit_reservations
  ADD COLUMN IF NOT EXISTS held BOOL NOT NULL DEFAULT 1
    COMMENT '1: amount_usd is counted in the period''s reserved_usd; 0: not yet (or never: refused), nothing to release'
    AFTER amount_usd;
