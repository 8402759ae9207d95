-- How a track's faces look, from the pack's attribute models (scas_lib/faces/attributes.py).
-- Each described face's [expression probabilities, age, male probability] ride at the end
-- of its entry in tracks.path (after similarity and runner_up); these columns sum them up
-- per track (scas_lib.tracks.TrackAttributes), for SQL and the console. NULL: no face of the
-- track was described (a pack without attribute models, or tracks written before).
-- A bystander's attributes are cleared with their mean embedding (Tracks.forget_embeddings).
ALTER TABLE tracks
    ADD COLUMN expression        text,
    ADD COLUMN smile_share       real CHECK (smile_share IS NULL OR smile_share BETWEEN 0 AND 1),
    ADD COLUMN age               real CHECK (age IS NULL OR age >= 0),
    ADD COLUMN gender            text CHECK (gender IS NULL OR gender IN ('female', 'male')),
    ADD COLUMN gender_confidence real
        CHECK (gender_confidence IS NULL OR gender_confidence BETWEEN 0.5 AND 1);
