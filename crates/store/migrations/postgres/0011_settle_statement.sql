-- Settlements written in one statement, many at a time (issue #6). On PostgreSQL a settlement
-- made of fifteen statements is bound by their round trips and by the work of starting each
-- one, not by what they do. The service reads a settlement's context first (one statement,
-- outside a transaction), computes the split, and hands it to a writer that commits the
-- settlements waiting at that moment with one call of this function: set-based statements
-- whose per-statement cost is shared by the whole batch.
--
-- For each item the function checks, under the ordinary path's locks and in its order
-- (nonces, then cards, then accounts by id), that the nonce is unused and that nothing the
-- split was computed from has changed (card status, the holder's account, year-to-date
-- figures); of the items whose nonce is fresh, only the first of a person, card or message
-- id in a batch counts (a later one was computed without the earlier one's effect).
-- Items that pass are written (settlement, ledger transfers `med-<id>-acct` and
-- `med-<id>-fund`, balances); the others are left out, their nonces unused, and the caller
-- runs them the ordinary way, which reports the precise reason. A refused write (a message id
-- taken meanwhile, an account's non-negative check) fails the whole statement: nothing is
-- written and the caller retries the items one by one.
CREATE TYPE sscard_settle_item AS (
    ord INT,
    key_id TEXT,
    nonce TEXT,
    at TEXT,
    card_id BIGINT,
    card_status TEXT,
    person_id BIGINT,
    year_start TEXT,
    account BIGINT,
    balance BIGINT,
    reserved BIGINT,
    deductible_used BIGINT,
    pooling_paid BIGINT,
    msg_id TEXT,
    institution_id BIGINT,
    region_code TEXT,
    sign_no TEXT,
    operator TEXT,
    request_hash TEXT,
    via TEXT,
    total BIGINT,
    self_pay BIGINT,
    deductible BIGINT,
    pooling BIGINT,
    personal BIGINT,
    cash BIGINT,
    items_json TEXT,
    settle_day TEXT,
    clearing BIGINT,
    fund BIGINT
);

CREATE FUNCTION sscard_commit_settlements(p_items JSONB)
RETURNS TABLE (item INT, settlement BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_items sscard_settle_item[];
    v_fresh INT[];
    v_ok INT[];
BEGIN
    v_items := ARRAY(SELECT x FROM jsonb_populate_recordset(NULL::sscard_settle_item, p_items) x);

    -- Nonces first, as on the ordinary path; the first item of a nonce owns it.
    WITH ins AS (
        INSERT INTO api_nonces (key_id, nonce, seen_at)
        SELECT x.key_id, x.nonce, x.at FROM unnest(v_items) x
        ON CONFLICT (key_id, nonce) DO NOTHING
        RETURNING api_nonces.key_id, api_nonces.nonce)
    SELECT array_agg(f.ord) INTO v_fresh
      FROM (SELECT DISTINCT ON (x.key_id, x.nonce) x.ord
              FROM unnest(v_items) x
              JOIN ins ON ins.key_id = x.key_id AND ins.nonce = x.nonce
             ORDER BY x.key_id, x.nonce, x.ord) f;

    -- Then the cards and the accounts, each in id order.
    PERFORM 1 FROM cards c
      WHERE c.id IN (SELECT x.card_id FROM unnest(v_items) x)
      ORDER BY c.id FOR UPDATE;
    PERFORM 1 FROM accounts a
      WHERE a.id IN (SELECT v.acc FROM unnest(v_items) x,
                            LATERAL (VALUES (x.account), (x.clearing), (x.fund)) v(acc))
      ORDER BY a.id FOR UPDATE;

    -- What still holds: read by a statement that starts after the locks were taken.
    SELECT array_agg(x.ord) INTO v_ok
      FROM (SELECT y.*,
                   row_number() OVER (PARTITION BY y.person_id ORDER BY y.ord) AS n_person,
                   row_number() OVER (PARTITION BY y.card_id ORDER BY y.ord) AS n_card,
                   row_number() OVER (PARTITION BY y.institution_id, y.msg_id ORDER BY y.ord)
                       AS n_msg
              FROM unnest(v_items) y
             WHERE y.ord = ANY (v_fresh)) x
      LEFT JOIN cards c ON c.id = x.card_id
      LEFT JOIN accounts a ON a.id = x.account
      CROSS JOIN LATERAL (
            SELECT CAST(COALESCE(SUM(s.deductible_fen), 0) AS BIGINT) AS ded,
                   CAST(COALESCE(SUM(s.pooling_fen), 0) AS BIGINT) AS pool
              FROM med_settlements s
             WHERE s.person_id = x.person_id AND s.settle_day >= x.year_start
               AND s.status = 'settled') y
     WHERE x.n_person = 1 AND (x.card_id IS NULL OR x.n_card = 1) AND x.n_msg = 1
       AND (x.card_id IS NULL OR c.status = x.card_status)
       AND (CASE WHEN x.account IS NULL
                 THEN NOT EXISTS (SELECT 1 FROM accounts o
                                   WHERE o.person_id = x.person_id
                                     AND o.kind = 'medical_personal')
                 ELSE a.person_id = x.person_id AND a.kind = 'medical_personal'
                      AND a.balance_fen = x.balance AND a.reserved_fen = x.reserved END)
       AND y.ded = x.deductible_used AND y.pool = x.pooling_paid;
    v_ok := COALESCE(v_ok, '{}');

    -- The nonces of the items left out stay unused.
    DELETE FROM api_nonces n
     USING unnest(v_items) x
     WHERE x.ord = ANY (v_fresh) AND NOT (x.ord = ANY (v_ok))
       AND n.key_id = x.key_id AND n.nonce = x.nonce;

    RETURN QUERY
    WITH ok AS (
        SELECT x.* FROM unnest(v_items) x WHERE x.ord = ANY (v_ok)
    ), ins AS (
        INSERT INTO med_settlements (msg_id, institution_id, person_id, card_id, region_code,
                sign_no, operator, request_hash, via, total_fen, self_pay_fen, deductible_fen,
                pooling_fen, personal_fen, cash_fen, items_json, status, settle_day, settled_at)
        SELECT ok.msg_id, ok.institution_id, ok.person_id, ok.card_id, ok.region_code,
               ok.sign_no, ok.operator, ok.request_hash, ok.via, ok.total, ok.self_pay,
               ok.deductible, ok.pooling, ok.personal, ok.cash, ok.items_json, 'settled',
               ok.settle_day, ok.at
          FROM ok ORDER BY ok.ord
        RETURNING med_settlements.id, med_settlements.institution_id, med_settlements.msg_id
    ), done AS (
        SELECT ok.*, ins.id AS sid
          FROM ok JOIN ins ON ins.institution_id = ok.institution_id AND ins.msg_id = ok.msg_id
    ), moved AS (
        INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                reason_code, status, memo, created_at)
        SELECT t.client_id, t.debit, done.clearing, t.amount, 'medical_settlement', '',
               'posted', '', done.at
          FROM done,
               LATERAL (VALUES ('med-' || done.sid || '-acct', done.account, done.personal, 1),
                               ('med-' || done.sid || '-fund', done.fund, done.pooling, 2))
                   t(client_id, debit, amount, n)
         WHERE t.amount > 0
         ORDER BY done.ord, t.n
        RETURNING 1
    ), balances AS (
        UPDATE accounts a SET balance_fen = a.balance_fen + d.delta
          FROM (SELECT v.acc, SUM(v.delta) AS delta
                  FROM done,
                       LATERAL (VALUES (done.account, -done.personal),
                                       (done.fund, -done.pooling),
                                       (done.clearing, done.personal + done.pooling)) v(acc, delta)
                 WHERE v.acc IS NOT NULL
                 GROUP BY v.acc
                HAVING SUM(v.delta) <> 0) d
         WHERE a.id = d.acc
        RETURNING 1
    )
    SELECT done.ord, done.sid FROM done;
END
$$;
