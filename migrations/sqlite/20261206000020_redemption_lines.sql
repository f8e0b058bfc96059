-- What an approved purchase bought, line by line, as the terminal's receipt said: the item's
-- name and unit as the catalog had them at the sale (a catalog changes; a sale does not).
-- Written with the purchase, in the same transaction; a declined request has no lines.
CREATE TABLE redemption_lines (
    redemption_id    BLOB NOT NULL REFERENCES redemptions (id),
    line_no          INTEGER NOT NULL CHECK (line_no >= 1),
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    unit             TEXT NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (redemption_id, line_no)
) STRICT;

-- Purchases approved before this table existed: their stored answers carry the receipt, with
-- prices as decimal rupiah text ("13500.00"), read here into minor units without a float.
WITH receipt AS (
    SELECT r.id, CAST(line.key AS INTEGER) + 1 AS line_no,
           json_extract(line.value, '$.sku') AS sku, json_extract(line.value, '$.name') AS name,
           json_extract(line.value, '$.unit') AS unit,
           json_extract(line.value, '$.quantity') AS quantity,
           json_extract(line.value, '$.unit_price') AS price, json_extract(line.value, '$.amount') AS amount
    FROM redemptions r, json_each(CAST(r.response AS TEXT), '$.receipt') AS line
    WHERE r.kind = 'purchase' AND r.rrn IS NOT NULL AND json_valid(CAST(r.response AS TEXT)))
INSERT INTO redemption_lines (redemption_id, line_no, sku, name, unit, quantity,
                              unit_price_minor, amount_minor)
SELECT id, line_no, sku, name, unit, quantity,
       CAST(substr(price, 1, instr(price || '.', '.') - 1) AS INTEGER) * 100
           + CAST(substr(substr(price, instr(price || '.', '.') + 1) || '00', 1, 2) AS INTEGER),
       CAST(substr(amount, 1, instr(amount || '.', '.') - 1) AS INTEGER) * 100
           + CAST(substr(substr(amount, instr(amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER)
FROM receipt;
