-- A database written by orchestrator-feedback at schema 5 (commit 6a23b66), dumped with
-- sqlite3's iterdump: the scores rollup of that version, before the time moments.
BEGIN TRANSACTION;
CREATE TABLE feedback (
                id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL,
                feedback_type TEXT NOT NULL,
                content TEXT NOT NULL,
                rating INTEGER,
                user_id TEXT,
                metadata TEXT,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                CONSTRAINT rating_range CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5))
            );
INSERT INTO "feedback" VALUES('01a231f2-e690-7a60-a239-d1e416bbda84','t0','error_report','c',NULL,NULL,'{"worker_id":"w0","task_type":"test"}','2026-11-01 12:00:00.000000','2026-11-01 12:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-74ef-846a-c2a84589a577','t1','task_completion','c',2,NULL,'{"worker_id":"w1","task_type":"build","success":false}','2026-11-01 05:00:00.000000','2026-11-01 05:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-7320-9e5a-b1496358f11d','t2','task_completion','c',3,NULL,'{"worker_id":"w2","task_type":"test","success":true}','2026-10-31 22:00:00.000000','2026-10-31 22:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-72f6-bcde-6d03e3f1ed7c','t3','task_completion','c',NULL,NULL,'{"worker_id":"w0","task_type":"build"}','2026-10-31 15:00:00.000000','2026-10-31 15:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-78a4-8c78-b9e31ae37a77','t4','task_completion','c',5,NULL,'{"worker_id":"w1","task_type":"test"}','2026-10-31 08:00:00.000000','2026-10-31 08:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-7843-b645-bf2845379bf7','t5','error_report','c',1,NULL,'{"worker_id":"w2","task_type":"build","success":false}','2026-10-31 01:00:00.000000','2026-10-31 01:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-7515-b861-77a889d3e02b','t6','task_completion','c',NULL,NULL,'{"worker_id":"w0","task_type":"test","success":true}','2026-10-30 18:00:00.000000','2026-10-30 18:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-73f5-a237-dca5b79b7738','t7','task_completion','c',3,NULL,'{"worker_id":"w1","task_type":"build"}','2026-10-30 11:00:00.000000','2026-10-30 11:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-799f-836d-b1385c1a7eca','t8','task_completion','c',4,NULL,'{"worker_id":"w2","task_type":"test"}','2026-10-30 04:00:00.000000','2026-10-30 04:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-7c21-9c2c-0729340cf697','t9','task_completion','c',NULL,NULL,'{"worker_id":"w0","task_type":"build","success":false}','2026-10-29 21:00:00.000000','2026-10-29 21:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-76a6-8392-2b0f323bf6b4','t10','error_report','c',1,NULL,'{"worker_id":"w1","task_type":"test","success":true}','2026-10-29 14:00:00.000000','2026-10-29 14:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e690-7b31-9027-ace39fb5ef6c','t11','task_completion','c',2,NULL,'{"worker_id":"w2","task_type":"build"}','2026-10-29 07:00:00.000000','2026-10-29 07:00:00.000000');
INSERT INTO "feedback" VALUES('01a231f2-e691-7374-aa06-a97efd87c11b','r','general','c',2,NULL,'{"worker_id":"w0"}','2026-11-01 12:00:00.000000','2026-11-01 12:00:00.000000');
CREATE TABLE feedback_history (
                version_id INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                feedback_type TEXT NOT NULL,
                content TEXT NOT NULL,
                rating INTEGER,
                user_id TEXT,
                metadata TEXT,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                changed_at TIMESTAMP NOT NULL,
                change TEXT NOT NULL
            );
CREATE TABLE feedback_rollup_hours (
        hour TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL
    ) WITHOUT ROWID;
CREATE TABLE feedback_rollup_mark (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        last_rowid INTEGER NOT NULL
    );
INSERT INTO "feedback_rollup_mark" VALUES(1,0);
CREATE TABLE feedback_rollup_scores (
        day TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        rating_squares INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        timed INTEGER NOT NULL,
        time_sum REAL NOT NULL,
        PRIMARY KEY (day, worker, task_type)
    ) WITHOUT ROWID;
CREATE TABLE feedback_rollup_types (
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (feedback_type, rating)
    ) WITHOUT ROWID;
CREATE TABLE feedback_rollup_workers (
        worker TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        failures INTEGER NOT NULL
    ) WITHOUT ROWID;
CREATE INDEX idx_feedback_type ON feedback(feedback_type);
CREATE INDEX idx_created_at ON feedback(created_at);
CREATE INDEX idx_task_type_rating ON feedback(task_id, feedback_type, rating);
CREATE INDEX idx_history_id ON feedback_history(id);
CREATE INDEX idx_history_user_id ON feedback_history(user_id);
CREATE INDEX idx_user_id ON feedback(user_id) WHERE user_id IS NOT NULL;
CREATE TRIGGER feedback_rollup_delete AFTER DELETE ON feedback WHEN OLD.rowid <= (SELECT last_rowid FROM feedback_rollup_mark) BEGIN
INSERT INTO feedback_rollup_types VALUES (OLD.feedback_type, ifnull(OLD.rating, 0), -1)
            ON CONFLICT DO UPDATE SET entries = entries - 1;
INSERT INTO feedback_rollup_hours VALUES (substr(OLD.created_at, 1, 13), -1, -(OLD.rating IS NOT NULL),
                -ifnull(OLD.rating, 0))
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_rollup_workers
            SELECT worker, -1, -(OLD.rating IS NOT NULL), -ifnull(OLD.rating, 0), -(OLD.feedback_type = 'error_report')
            FROM (SELECT CAST(OLD.metadata->>'$.worker_id' AS TEXT) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, -SUM(entries) AS entries, -SUM(rated) AS rated, -SUM(rating_sum) AS rating_sum, -SUM(rating_squares) AS rating_squares, -SUM(successes) AS successes, -SUM(failures) AS failures, -SUM(timed) AS timed, -SUM(time_sum) AS time_sum FROM (SELECT substr(OLD.created_at, 1, 10) AS day, CAST(OLD.metadata->>'$.worker_id' AS TEXT) AS worker, ifnull(CAST(OLD.metadata->>'$.task_type' AS TEXT), '') AS task_type, 1 AS entries, (OLD.rating IS NOT NULL) AS rated, ifnull(OLD.rating, 0) AS rating_sum, ifnull(OLD.rating * OLD.rating, 0) AS rating_squares, ifnull(OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'true', 0) AS successes, ifnull(OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false'), 0) AS failures, ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(OLD.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, rating_squares = rating_squares + excluded.rating_squares, successes = successes + excluded.successes, failures = failures + excluded.failures, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum;
DELETE FROM feedback_rollup_types WHERE feedback_type = OLD.feedback_type
            AND rating = ifnull(OLD.rating, 0) AND entries = 0;
DELETE FROM feedback_rollup_hours WHERE hour = substr(OLD.created_at, 1, 13) AND entries = 0;
DELETE FROM feedback_rollup_workers WHERE worker = CAST(OLD.metadata->>'$.worker_id' AS TEXT) AND entries = 0;
DELETE FROM feedback_rollup_scores WHERE day = substr(OLD.created_at, 1, 10) AND worker = CAST(OLD.metadata->>'$.worker_id' AS TEXT) AND task_type = ifnull(CAST(OLD.metadata->>'$.task_type' AS TEXT), '') AND entries = 0;
UPDATE feedback_rollup_mark SET last_rowid = (SELECT ifnull(max(rowid), 0) FROM feedback WHERE rowid <= OLD.rowid) WHERE last_rowid = OLD.rowid;
END;
CREATE TRIGGER feedback_rollup_update AFTER UPDATE OF feedback_type, rating, metadata, created_at ON feedback WHEN OLD.rowid <= (SELECT last_rowid FROM feedback_rollup_mark) BEGIN
INSERT INTO feedback_rollup_types VALUES (OLD.feedback_type, ifnull(OLD.rating, 0), -1)
            ON CONFLICT DO UPDATE SET entries = entries - 1;
INSERT INTO feedback_rollup_hours VALUES (substr(OLD.created_at, 1, 13), -1, -(OLD.rating IS NOT NULL),
                -ifnull(OLD.rating, 0))
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_rollup_workers
            SELECT worker, -1, -(OLD.rating IS NOT NULL), -ifnull(OLD.rating, 0), -(OLD.feedback_type = 'error_report')
            FROM (SELECT CAST(OLD.metadata->>'$.worker_id' AS TEXT) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, -SUM(entries) AS entries, -SUM(rated) AS rated, -SUM(rating_sum) AS rating_sum, -SUM(rating_squares) AS rating_squares, -SUM(successes) AS successes, -SUM(failures) AS failures, -SUM(timed) AS timed, -SUM(time_sum) AS time_sum FROM (SELECT substr(OLD.created_at, 1, 10) AS day, CAST(OLD.metadata->>'$.worker_id' AS TEXT) AS worker, ifnull(CAST(OLD.metadata->>'$.task_type' AS TEXT), '') AS task_type, 1 AS entries, (OLD.rating IS NOT NULL) AS rated, ifnull(OLD.rating, 0) AS rating_sum, ifnull(OLD.rating * OLD.rating, 0) AS rating_squares, ifnull(OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'true', 0) AS successes, ifnull(OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false'), 0) AS failures, ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(OLD.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, rating_squares = rating_squares + excluded.rating_squares, successes = successes + excluded.successes, failures = failures + excluded.failures, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum;
DELETE FROM feedback_rollup_types WHERE feedback_type = OLD.feedback_type
            AND rating = ifnull(OLD.rating, 0) AND entries = 0;
DELETE FROM feedback_rollup_hours WHERE hour = substr(OLD.created_at, 1, 13) AND entries = 0;
DELETE FROM feedback_rollup_workers WHERE worker = CAST(OLD.metadata->>'$.worker_id' AS TEXT) AND entries = 0;
DELETE FROM feedback_rollup_scores WHERE day = substr(OLD.created_at, 1, 10) AND worker = CAST(OLD.metadata->>'$.worker_id' AS TEXT) AND task_type = ifnull(CAST(OLD.metadata->>'$.task_type' AS TEXT), '') AND entries = 0;
INSERT INTO feedback_rollup_types VALUES (NEW.feedback_type, ifnull(NEW.rating, 0), +1)
            ON CONFLICT DO UPDATE SET entries = entries + 1;
INSERT INTO feedback_rollup_hours VALUES (substr(NEW.created_at, 1, 13), +1, +(NEW.rating IS NOT NULL),
                +ifnull(NEW.rating, 0))
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_rollup_workers
            SELECT worker, +1, +(NEW.rating IS NOT NULL), +ifnull(NEW.rating, 0), +(NEW.feedback_type = 'error_report')
            FROM (SELECT CAST(NEW.metadata->>'$.worker_id' AS TEXT) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, +SUM(entries) AS entries, +SUM(rated) AS rated, +SUM(rating_sum) AS rating_sum, +SUM(rating_squares) AS rating_squares, +SUM(successes) AS successes, +SUM(failures) AS failures, +SUM(timed) AS timed, +SUM(time_sum) AS time_sum FROM (SELECT substr(NEW.created_at, 1, 10) AS day, CAST(NEW.metadata->>'$.worker_id' AS TEXT) AS worker, ifnull(CAST(NEW.metadata->>'$.task_type' AS TEXT), '') AS task_type, 1 AS entries, (NEW.rating IS NOT NULL) AS rated, ifnull(NEW.rating, 0) AS rating_sum, ifnull(NEW.rating * NEW.rating, 0) AS rating_squares, ifnull(NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'true', 0) AS successes, ifnull(NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false'), 0) AS failures, ifnull(json_type(NEW.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(NEW.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(NEW.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, rating_squares = rating_squares + excluded.rating_squares, successes = successes + excluded.successes, failures = failures + excluded.failures, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum;
END;
DELETE FROM "sqlite_sequence";
COMMIT;
PRAGMA user_version = 5;
