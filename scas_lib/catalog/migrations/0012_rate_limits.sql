-- Token buckets the whole app shares, by name, for limits that belong to no kiosk: today
-- 'short_codes', the tries of a visitor page's short code (8 characters, about 40 bits:
-- guessable at the rate of a script). Kept in the catalog so that every API server
-- process takes from the same bucket.
CREATE TABLE rate_limits (
    name         text PRIMARY KEY,
    allowance    double precision NOT NULL,
    refilled_at  timestamptz NOT NULL DEFAULT now()
);
