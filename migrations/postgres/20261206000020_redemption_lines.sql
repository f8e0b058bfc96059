-- What an approved purchase bought, line by line, as the terminal's receipt said: the item's
-- name and unit as the catalog had them at the sale (a catalog changes; a sale does not).
-- Written with the purchase, in the same statement; a declined request has no lines.
CREATE TABLE redemption_lines (
    redemption_id    uuid NOT NULL REFERENCES redemptions (id),
    line_no          integer NOT NULL CHECK (line_no >= 1),
    sku              text NOT NULL,
    name             text NOT NULL,
    unit             text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (redemption_id, line_no)
);

-- Purchases approved before this table existed: their stored answers carry the receipt, with
-- prices as decimal rupiah text ("13500.00"), read here into minor units without a float.
INSERT INTO redemption_lines (redemption_id, line_no, sku, name, unit, quantity,
                              unit_price_minor, amount_minor)
SELECT r.id, line.ordinality,
       line.value ->> 'sku', line.value ->> 'name', line.value ->> 'unit',
       (line.value ->> 'quantity')::integer,
       (split_part(line.value ->> 'unit_price', '.', 1)::bigint * 100
        + rpad(split_part(line.value ->> 'unit_price', '.', 2), 2, '0')::bigint),
       (split_part(line.value ->> 'amount', '.', 1)::bigint * 100
        + rpad(split_part(line.value ->> 'amount', '.', 2), 2, '0')::bigint)
FROM redemptions r,
     jsonb_array_elements(convert_from(r.response, 'UTF8')::jsonb -> 'receipt')
         WITH ORDINALITY AS line (value, ordinality)
WHERE r.kind = 'purchase' AND r.rrn IS NOT NULL;
