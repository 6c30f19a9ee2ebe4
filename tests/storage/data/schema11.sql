-- A database written by orchestrator-feedback at schema 11 (commit 0b5b4dd), dumped with
-- sqlite3's iterdump (the entries with their rowids, which the rollups' mark counts by):
-- rollups folded, then a task deleted, an entry moved to another worker and one entry
-- left in the tail; it has no feedback_rollup_outcomes.
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
CREATE TABLE feedback_alert_detectors (
            detector TEXT PRIMARY KEY,
            state TEXT NOT NULL
        );
CREATE TABLE feedback_alert_position (
            only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
            major BIGINT NOT NULL,
            minor BIGINT NOT NULL
        );
CREATE TABLE feedback_alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            worker TEXT NOT NULL,
            task_type TEXT,
            kind TEXT NOT NULL,
            measure TEXT NOT NULL,
            since TIMESTAMP NOT NULL,
            raised_at TIMESTAMP NOT NULL,
            before REAL NOT NULL,
            before_low REAL NOT NULL,
            before_high REAL NOT NULL,
            after REAL NOT NULL,
            after_low REAL NOT NULL,
            after_high REAL NOT NULL,
            outcomes INTEGER NOT NULL,
            statistic REAL NOT NULL,
            threshold REAL NOT NULL
        );
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
INSERT INTO "feedback_history" VALUES(1,'01a251df-0599-7d43-822d-86ca7c5da2d9','t1','allocation_feedback','c',1,NULL,'{"task_type":"k0"}','2026-10-15 23:00:00.000000','2026-10-15 23:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(2,'01a251df-0599-7f13-8619-bf044436e01f','t1','allocation_feedback','c',2,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":3.1}','2026-10-22 23:00:00.000000','2026-10-22 23:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(3,'01a251df-0599-7894-8409-d15557e1a3ee','t1','allocation_feedback','c',3,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":0.7}','2026-10-29 23:00:00.000000','2026-10-29 23:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(4,'01a251df-0599-70bf-b98a-cb57ddcc6d0d','t1','allocation_feedback','c',5,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":7.9}','2026-10-08 23:00:00.000000','2026-10-08 23:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(5,'01a251df-0599-7792-9076-111f7f16b452','t1','decomposition_effectiveness','c',3,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":6.7}','2026-10-12 11:00:00.000000','2026-10-12 11:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(6,'01a251df-0599-76a3-a52d-7e42e405a646','t1','decomposition_effectiveness','c',4,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":4.3}','2026-10-19 11:00:00.000000','2026-10-19 11:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(7,'01a251df-0599-7c8f-b26f-5325dbd6fbff','t1','decomposition_effectiveness','c',5,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":1.9}','2026-10-26 11:00:00.000000','2026-10-26 11:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(8,'01a251df-0599-70bc-86cf-2d8eee7c0a9c','t1','general','c',2,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":6.1}','2026-10-14 05:00:00.000000','2026-10-14 05:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(9,'01a251df-0599-75e2-bed4-90d7817a1019','t1','general','c',3,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":3.7}','2026-10-21 05:00:00.000000','2026-10-21 05:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(10,'01a251df-0599-7bb4-bf7c-689b57e6c195','t1','general','c',4,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":1.3}','2026-10-28 05:00:00.000000','2026-10-28 05:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(11,'01a251df-0599-7059-8aa6-61bc4d82424a','t1','worker_performance','c',1,NULL,'{"task_type":"k0"}','2026-10-24 17:00:00.000000','2026-10-24 17:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(12,'01a251df-0599-797d-9c83-23cd81b986f8','t1','worker_performance','c',2,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":0.1}','2026-10-31 17:00:00.000000','2026-10-31 17:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(13,'01a251df-0599-7a00-9123-ae7de2659c5e','t1','worker_performance','c',4,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":7.3}','2026-10-10 17:00:00.000000','2026-10-10 17:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(14,'01a251df-0599-7408-bb8d-c1291665b743','t1','worker_performance','c',5,NULL,'{"worker_id":"w1","task_type":"k1","success":true,"execution_time":4.9}','2026-10-17 17:00:00.000000','2026-10-17 17:00:00.000000','2026-12-07 18:58:20.189407','delete');
INSERT INTO "feedback_history" VALUES(15,'01a251df-0599-77d7-a112-3559cd8b2d26','t2','task_quality','c',5,NULL,'{"worker_id":"w2","task_type":"k0","success":true,"execution_time":7.4}','2026-10-10 10:00:00.000000','2026-10-10 10:00:00.000000','2026-12-07 18:58:20.192016','update');
CREATE TABLE feedback_rated_types (
        feedback_type TEXT NOT NULL PRIMARY KEY
    ) WITHOUT ROWID;
INSERT INTO "feedback_rated_types" VALUES('allocation_feedback');
INSERT INTO "feedback_rated_types" VALUES('decomposition_effectiveness');
INSERT INTO "feedback_rated_types" VALUES('error_report');
INSERT INTO "feedback_rated_types" VALUES('general');
INSERT INTO "feedback_rated_types" VALUES('manager_review');
INSERT INTO "feedback_rated_types" VALUES('task_completion');
INSERT INTO "feedback_rated_types" VALUES('task_quality');
INSERT INTO "feedback_rated_types" VALUES('worker_performance');
CREATE TABLE feedback_removed_outcomes (
        change TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        PRIMARY KEY (change, worker, task_type)
    ) WITHOUT ROWID;
INSERT INTO "feedback_removed_outcomes" VALUES('delete','w1','k1',0,0,12,42);
INSERT INTO "feedback_removed_outcomes" VALUES('update','w2','k0',0,0,1,5);
INSERT INTO "feedback_removed_outcomes" VALUES('update','w9','k0',0,0,-1,-1);
CREATE TABLE feedback_removed_types (
        change TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (change, feedback_type, rating)
    ) WITHOUT ROWID;
INSERT INTO "feedback_removed_types" VALUES('delete','allocation_feedback',1,1);
INSERT INTO "feedback_removed_types" VALUES('delete','allocation_feedback',2,1);
INSERT INTO "feedback_removed_types" VALUES('delete','allocation_feedback',3,1);
INSERT INTO "feedback_removed_types" VALUES('delete','allocation_feedback',5,1);
INSERT INTO "feedback_removed_types" VALUES('delete','decomposition_effectiveness',3,1);
INSERT INTO "feedback_removed_types" VALUES('delete','decomposition_effectiveness',4,1);
INSERT INTO "feedback_removed_types" VALUES('delete','decomposition_effectiveness',5,1);
INSERT INTO "feedback_removed_types" VALUES('delete','general',2,1);
INSERT INTO "feedback_removed_types" VALUES('delete','general',3,1);
INSERT INTO "feedback_removed_types" VALUES('delete','general',4,1);
INSERT INTO "feedback_removed_types" VALUES('delete','worker_performance',1,1);
INSERT INTO "feedback_removed_types" VALUES('delete','worker_performance',2,1);
INSERT INTO "feedback_removed_types" VALUES('delete','worker_performance',4,1);
INSERT INTO "feedback_removed_types" VALUES('delete','worker_performance',5,1);
INSERT INTO "feedback_removed_types" VALUES('update','task_quality',1,-1);
INSERT INTO "feedback_removed_types" VALUES('update','task_quality',5,1);
CREATE TABLE feedback_rollup_hours (
        hour TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL
    ) WITHOUT ROWID;
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-09 06',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-09 13',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-09 20',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-10 03',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-10 10',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-11 00',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-11 07',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-11 14',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-11 21',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-12 04',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-12 18',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-13 01',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-13 08',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-13 15',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-13 22',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-14 12',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-14 19',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-15 02',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-15 09',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-15 16',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-16 06',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-16 13',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-16 20',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-17 03',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-17 10',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-18 00',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-18 07',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-18 14',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-18 21',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-19 04',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-19 18',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-20 01',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-20 08',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-20 15',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-20 22',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-21 12',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-21 19',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-22 02',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-22 09',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-22 16',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-23 06',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-23 13',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-23 20',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-24 03',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-24 10',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-25 00',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-25 07',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-25 14',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-25 21',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-26 04',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-26 18',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-27 01',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-27 08',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-27 15',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-27 22',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-28 12',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-28 19',1,1,2);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-29 02',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-29 09',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-29 16',1,1,4);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-30 06',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-30 13',1,1,1);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-30 20',1,1,5);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-31 03',1,0,0);
INSERT INTO "feedback_rollup_hours" VALUES('2026-10-31 10',1,1,3);
INSERT INTO "feedback_rollup_hours" VALUES('2026-11-01 00',1,0,0);
CREATE TABLE feedback_rollup_mark (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        last_rowid INTEGER NOT NULL
    );
INSERT INTO "feedback_rollup_mark" VALUES(1,79);
CREATE TABLE feedback_rollup_scores (
        day TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        success_f REAL NOT NULL,
        success_ff REAL NOT NULL,
        failures INTEGER NOT NULL,
        failure_f REAL NOT NULL,
        failure_ff REAL NOT NULL,
        rated INTEGER NOT NULL,
        rated_f REAL NOT NULL,
        rated_ff REAL NOT NULL,
        rating_sum INTEGER NOT NULL,
        rating_f REAL NOT NULL,
        rating_ff REAL NOT NULL,
        timed INTEGER NOT NULL,
        time_sum REAL NOT NULL,
        latest TEXT,
        PRIMARY KEY (day, worker, task_type)
    ) WITHOUT ROWID;
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-09','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,7.8,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-09','w1','k0',1,0,0.0,0.0,1,8.3333333333333337034e-01,6.94444444444444530795e-01,1,8.3333333333333337034e-01,6.94444444444444530795e-01,2,1.66666666666666674068e+00,1.38888888888888906159e+00,1,7.6,'2026-10-09 20:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-09','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,5.41666666666666629659e-01,2.93402777777777734602e-01,3,1.625,8.80208333333333259318e-01,1,7.7,'2026-10-09 13:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-10','w9','k0',1,0,0.0,0.0,0,0.0,0.0,1,4.1666666666666668517e-01,1.73611111111111132698e-01,1,4.1666666666666668517e-01,1.73611111111111132698e-01,1,7.4,'2026-10-10 10:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-11','w0','k0',1,0,0.0,0.0,1,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,7.2,'2026-10-11 00:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-11','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,6.9,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-11','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,2.9166666666666668517e-01,8.50694444444444614061e-02,2,5.8333333333333337034e-01,1.70138888888888922812e-01,1,7.1,'2026-10-11 07:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-12','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,6.6,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-12','w2','k0',1,0,0.0,0.0,1,1.66666666666666657414e-01,2.77777777777777762358e-02,1,1.66666666666666657414e-01,2.77777777777777762358e-02,4,6.66666666666666629659e-01,1.11111111111111104943e-01,1,6.8,'2026-10-12 04:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-13','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,6.3,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-13','w1','k0',1,0,0.0,0.0,1,3.33333333333333314829e-01,1.11111111111111104943e-01,1,3.33333333333333314829e-01,1.11111111111111104943e-01,5,1.66666666666666651863e+00,5.55555555555555469204e-01,1,6.4,'2026-10-13 08:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-13','w2','k0',1,0,0.0,0.0,0,0.0,0.0,1,9.16666666666666629659e-01,8.40277777777777679091e-01,3,2.75,2.52083333333333303727e+00,1,6.2,'2026-10-13 22:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-14','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,7.91666666666666629659e-01,0.626736111111111,5,3.95833333333333303727e+00,3.13368055555555535818e+00,1,5.9,'2026-10-14 19:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-15','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,5.7,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-15','w1','k0',1,0,0.0,0.0,0,0.0,0.0,1,8.33333333333333287074e-02,6.94444444444444405895e-03,4,3.33333333333333314829e-01,2.77777777777777762358e-02,1,5.8,'2026-10-15 02:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-15','w2','k0',1,0,0.0,0.0,1,6.66666666666666629659e-01,4.44444444444444419772e-01,1,6.66666666666666629659e-01,4.44444444444444419772e-01,2,1.33333333333333325931e+00,8.88888888888888839545e-01,1,5.6,'2026-10-15 16:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-16','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,5.4,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-16','w1','k0',1,0,0.0,0.0,1,8.3333333333333337034e-01,6.94444444444444530795e-01,1,8.3333333333333337034e-01,6.94444444444444530795e-01,3,2.5,2.08333333333333348136e+00,1,5.2,'2026-10-16 20:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-16','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,5.41666666666666629659e-01,2.93402777777777734602e-01,4,2.16666666666666651863e+00,1.1736111111111109384e+00,1,5.3,'2026-10-16 13:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-17','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,5.1,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-18','w0','k0',1,0,0.0,0.0,1,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,4.8,'2026-10-18 00:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-18','w1','k0',1,0,0.0,0.0,0,0.0,0.0,1,5.8333333333333337034e-01,3.40277777777777845624e-01,2,1.16666666666666674068e+00,6.80555555555555691249e-01,1,4.6,'2026-10-18 14:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-18','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,2.9166666666666668517e-01,8.50694444444444614061e-02,3,0.875,2.5520833333333337034e-01,1,4.7,'2026-10-18 07:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-19','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,4.2,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-19','w2','k0',1,0,0.0,0.0,1,1.66666666666666657414e-01,2.77777777777777762358e-02,1,1.66666666666666657414e-01,2.77777777777777762358e-02,5,8.33333333333333259318e-01,1.38888888888888867301e-01,1,4.4,'2026-10-19 04:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-20','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,3.9,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-20','w2','k0',1,0,0.0,0.0,0,0.0,0.0,1,9.16666666666666629659e-01,8.40277777777777679091e-01,4,3.66666666666666651863e+00,3.36111111111111071636e+00,1,3.8,'2026-10-20 22:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-20','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,4.16666666666666643537e-02,1.73611111111111101473e-03,2,8.33333333333333287074e-02,3.47222222222222202947e-03,1,4.1,'2026-10-20 01:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-21','w0','k0',1,0,0.0,0.0,1,0.5,0.25,0,0.0,0.0,0,0.0,0.0,1,3.6,'2026-10-21 12:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-22','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,3.3,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-22','w1','k0',1,0,0.0,0.0,0,0.0,0.0,1,8.33333333333333287074e-02,6.94444444444444405895e-03,5,4.16666666666666629659e-01,3.47222222222222168253e-02,1,3.4,'2026-10-22 02:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-22','w2','k0',1,0,0.0,0.0,1,6.66666666666666629659e-01,4.44444444444444419772e-01,1,6.66666666666666629659e-01,4.44444444444444419772e-01,3,2.0,1.33333333333333325931e+00,1,3.2,'2026-10-22 16:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-23','w1','k0',1,0,0.0,0.0,1,8.3333333333333337034e-01,6.94444444444444530795e-01,1,8.3333333333333337034e-01,6.94444444444444530795e-01,4,3.33333333333333348136e+00,2.77777777777777812318e+00,1,2.8,'2026-10-23 20:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-23','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,5.41666666666666629659e-01,2.93402777777777734602e-01,5,2.70833333333333303727e+00,1.4670138888888886175e+00,1,2.9,'2026-10-23 13:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-24','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,2.7,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-24','w2','k0',1,0,0.0,0.0,0,0.0,0.0,1,4.1666666666666668517e-01,1.73611111111111132698e-01,2,8.3333333333333337034e-01,3.47222222222222265397e-01,1,2.6,'2026-10-24 10:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-25','w0','k0',1,0,0.0,0.0,1,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,2.4,'2026-10-25 00:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-25','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,2.1,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-25','w1','k0',1,0,0.0,0.0,0,0.0,0.0,1,5.8333333333333337034e-01,3.40277777777777845624e-01,3,1.75,1.02083333333333348136e+00,1,2.2,'2026-10-25 14:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-25','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,2.9166666666666668517e-01,8.50694444444444614061e-02,4,1.16666666666666674068e+00,3.40277777777777845624e-01,1,2.3,'2026-10-25 07:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-26','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,1.8,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-27','w1','k0',1,0,0.0,0.0,1,3.33333333333333314829e-01,1.11111111111111104943e-01,1,3.33333333333333314829e-01,1.11111111111111104943e-01,2,6.66666666666666629659e-01,2.22222222222222209886e-01,1,1.6,'2026-10-27 08:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-27','w2','k0',1,0,0.0,0.0,0,0.0,0.0,1,9.16666666666666629659e-01,8.40277777777777679091e-01,5,4.58333333333333303727e+00,4.20138888888888839545e+00,1,1.4,'2026-10-27 22:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-27','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,4.16666666666666643537e-02,1.73611111111111101473e-03,3,0.125,5.20833333333333304421e-03,1,1.7,'2026-10-27 01:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-28','w0','k0',1,0,0.0,0.0,1,0.5,0.25,0,0.0,0.0,0,0.0,0.0,1,1.2,'2026-10-28 12:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-28','w2','k1',1,0,0.0,0.0,0,0.0,0.0,1,7.91666666666666629659e-01,0.626736111111111,2,1.58333333333333325931e+00,1.25347222222222209886e+00,1,1.1,'2026-10-28 19:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-29','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,0.9,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-29','w2','k0',1,0,0.0,0.0,1,6.66666666666666629659e-01,4.44444444444444419772e-01,1,6.66666666666666629659e-01,4.44444444444444419772e-01,4,2.66666666666666651863e+00,1.77777777777777767909e+00,1,0.8,'2026-10-29 16:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-30','w0','k0',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,0.6,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-30','w1','k0',1,0,0.0,0.0,1,8.3333333333333337034e-01,6.94444444444444530795e-01,1,8.3333333333333337034e-01,6.94444444444444530795e-01,5,4.16666666666666696272e+00,3.47222222222222276499e+00,1,0.4,'2026-10-30 20:00:00.000000');
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-31','w0','k1',1,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,0,0.0,0.0,1,0.3,NULL);
INSERT INTO "feedback_rollup_scores" VALUES('2026-10-31','w2','k0',1,0,0.0,0.0,0,0.0,0.0,1,4.1666666666666668517e-01,1.73611111111111132698e-01,3,1.25,5.2083333333333337034e-01,1,0.2,'2026-10-31 10:00:00.000000');
CREATE TABLE feedback_rollup_types (
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (feedback_type, rating)
    ) WITHOUT ROWID;
INSERT INTO "feedback_rollup_types" VALUES('allocation_feedback',0,3);
INSERT INTO "feedback_rollup_types" VALUES('allocation_feedback',2,1);
INSERT INTO "feedback_rollup_types" VALUES('allocation_feedback',3,1);
INSERT INTO "feedback_rollup_types" VALUES('allocation_feedback',4,1);
INSERT INTO "feedback_rollup_types" VALUES('decomposition_effectiveness',0,4);
INSERT INTO "feedback_rollup_types" VALUES('decomposition_effectiveness',1,1);
INSERT INTO "feedback_rollup_types" VALUES('decomposition_effectiveness',2,1);
INSERT INTO "feedback_rollup_types" VALUES('decomposition_effectiveness',5,1);
INSERT INTO "feedback_rollup_types" VALUES('error_report',0,3);
INSERT INTO "feedback_rollup_types" VALUES('error_report',1,1);
INSERT INTO "feedback_rollup_types" VALUES('error_report',2,1);
INSERT INTO "feedback_rollup_types" VALUES('error_report',3,1);
INSERT INTO "feedback_rollup_types" VALUES('error_report',4,2);
INSERT INTO "feedback_rollup_types" VALUES('error_report',5,2);
INSERT INTO "feedback_rollup_types" VALUES('general',0,3);
INSERT INTO "feedback_rollup_types" VALUES('general',1,1);
INSERT INTO "feedback_rollup_types" VALUES('general',3,1);
INSERT INTO "feedback_rollup_types" VALUES('general',4,1);
INSERT INTO "feedback_rollup_types" VALUES('general',5,1);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',0,4);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',1,1);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',2,1);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',3,2);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',4,1);
INSERT INTO "feedback_rollup_types" VALUES('manager_review',5,1);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',0,4);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',1,1);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',2,2);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',3,1);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',4,1);
INSERT INTO "feedback_rollup_types" VALUES('task_completion',5,1);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',0,3);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',1,3);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',2,1);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',3,1);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',4,1);
INSERT INTO "feedback_rollup_types" VALUES('task_quality',5,1);
INSERT INTO "feedback_rollup_types" VALUES('worker_performance',0,3);
INSERT INTO "feedback_rollup_types" VALUES('worker_performance',1,1);
INSERT INTO "feedback_rollup_types" VALUES('worker_performance',2,1);
INSERT INTO "feedback_rollup_types" VALUES('worker_performance',3,1);
CREATE TABLE feedback_rollup_workers (
        worker TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        failures INTEGER NOT NULL
    ) WITHOUT ROWID;
INSERT INTO "feedback_rollup_workers" VALUES('w0',21,0,0,2);
INSERT INTO "feedback_rollup_workers" VALUES('w1',10,10,35,4);
INSERT INTO "feedback_rollup_workers" VALUES('w2',20,20,68,2);
INSERT INTO "feedback_rollup_workers" VALUES('w9',1,1,1,0);
CREATE TABLE feedback_top_deletions (
        generation INTEGER PRIMARY KEY AUTOINCREMENT,
        floor INTEGER NOT NULL
    );
INSERT INTO "feedback_top_deletions" VALUES(1,79);
CREATE INDEX idx_feedback_type ON feedback(feedback_type);
CREATE INDEX idx_created_at ON feedback(created_at);
CREATE INDEX idx_task_type_rating ON feedback(task_id, feedback_type, rating);
CREATE INDEX idx_history_id ON feedback_history(id);
CREATE INDEX idx_history_user_id ON feedback_history(user_id);
CREATE INDEX idx_user_id ON feedback(user_id) WHERE user_id IS NOT NULL;
CREATE TRIGGER feedback_follow_top_delete AFTER DELETE ON feedback
       WHEN OLD.rowid > (SELECT ifnull(max(rowid), 0) FROM feedback)
       BEGIN
           INSERT INTO feedback_top_deletions (floor)
           SELECT ifnull(max(rowid), 0) FROM feedback;
       END;
CREATE TRIGGER feedback_rollup_delete AFTER DELETE ON feedback WHEN OLD.rowid <= (SELECT last_rowid FROM feedback_rollup_mark) BEGIN
INSERT INTO feedback_rollup_types VALUES (OLD.feedback_type, ifnull(OLD.rating, 0), -1)
            ON CONFLICT DO UPDATE SET entries = entries - 1;
INSERT INTO feedback_rollup_hours VALUES (substr(OLD.created_at, 1, 13), -1, -(OLD.rating IS NOT NULL),
                -ifnull(OLD.rating, 0))
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_rollup_workers
            SELECT worker, -1, -(OLD.rating IS NOT NULL), -ifnull(OLD.rating, 0), -(OLD.feedback_type = 'error_report')
            FROM (SELECT (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, -SUM(entries) AS entries, -SUM(successes) AS successes, -SUM(success_f) AS success_f, -SUM(success_ff) AS success_ff, -SUM(failures) AS failures, -SUM(failure_f) AS failure_f, -SUM(failure_ff) AS failure_ff, -SUM(rated) AS rated, -SUM(rated_f) AS rated_f, -SUM(rated_ff) AS rated_ff, -SUM(rating_sum) AS rating_sum, -SUM(rating_f) AS rating_f, -SUM(rating_ff) AS rating_ff, -SUM(timed) AS timed, -SUM(time_sum) AS time_sum, MAX(latest) AS latest FROM (SELECT substr(OLD.created_at, 1, 10) AS day, (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type, 1 AS entries, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) AS successes, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS success_f, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS success_ff, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) AS failures, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_f, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_ff, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) AS rated, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_f, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_ff, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) AS rating_sum, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_f, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_ff, ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(OLD.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum, CASE WHEN (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) OR (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) OR (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) THEN OLD.created_at END AS latest) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, successes = successes + excluded.successes, success_f = success_f + excluded.success_f, success_ff = success_ff + excluded.success_ff, failures = failures + excluded.failures, failure_f = failure_f + excluded.failure_f, failure_ff = failure_ff + excluded.failure_ff, rated = rated + excluded.rated, rated_f = rated_f + excluded.rated_f, rated_ff = rated_ff + excluded.rated_ff, rating_sum = rating_sum + excluded.rating_sum, rating_f = rating_f + excluded.rating_f, rating_ff = rating_ff + excluded.rating_ff, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum, latest = max(ifnull(latest, excluded.latest), ifnull(excluded.latest, latest));
DELETE FROM feedback_rollup_types WHERE feedback_type = OLD.feedback_type
            AND rating = ifnull(OLD.rating, 0) AND entries = 0;
DELETE FROM feedback_rollup_hours WHERE hour = substr(OLD.created_at, 1, 13) AND entries = 0;
DELETE FROM feedback_rollup_workers WHERE worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND entries = 0;
DELETE FROM feedback_rollup_scores WHERE day = substr(OLD.created_at, 1, 10) AND worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND task_type = coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AND entries = 0;
UPDATE feedback_rollup_scores SET latest = (
                SELECT MAX(CASE WHEN (CASE WHEN feedback_type = 'task_completion' AND coalesce(json_type(metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) OR (CASE WHEN feedback_type = 'error_report' OR (feedback_type = 'task_completion' AND json_type(metadata, '$.success') = 'false') THEN 1 ELSE 0 END) OR (CASE WHEN rating IS NOT NULL AND feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) THEN created_at END) FROM feedback
                WHERE created_at >= feedback_rollup_scores.day
                    AND created_at < date(feedback_rollup_scores.day, '+1 day')
                    AND rowid <= (SELECT last_rowid FROM feedback_rollup_mark)
                    AND (CASE WHEN json_type(metadata, '$.worker_id') = 'text' THEN (metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(metadata, '$.worker_id') IN ('true', 'false') THEN json_type(metadata, '$.worker_id') END), (CASE WHEN json_type(metadata, '$.worker_id') = 'integer' AND metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(metadata->>'$.worker_id' AS TEXT) END)) END) = feedback_rollup_scores.worker
                    AND coalesce((CASE WHEN json_type(metadata, '$.task_type') = 'text' THEN (metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(metadata, '$.task_type') IN ('true', 'false') THEN json_type(metadata, '$.task_type') END), (CASE WHEN json_type(metadata, '$.task_type') = 'integer' AND metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(metadata->>'$.task_type' AS TEXT) END)) END), '') = feedback_rollup_scores.task_type)
            WHERE day = substr(OLD.created_at, 1, 10) AND worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND task_type = coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AND latest = OLD.created_at;
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
            FROM (SELECT (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, -SUM(entries) AS entries, -SUM(successes) AS successes, -SUM(success_f) AS success_f, -SUM(success_ff) AS success_ff, -SUM(failures) AS failures, -SUM(failure_f) AS failure_f, -SUM(failure_ff) AS failure_ff, -SUM(rated) AS rated, -SUM(rated_f) AS rated_f, -SUM(rated_ff) AS rated_ff, -SUM(rating_sum) AS rating_sum, -SUM(rating_f) AS rating_f, -SUM(rating_ff) AS rating_ff, -SUM(timed) AS timed, -SUM(time_sum) AS time_sum, MAX(latest) AS latest FROM (SELECT substr(OLD.created_at, 1, 10) AS day, (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type, 1 AS entries, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) AS successes, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS success_f, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS success_ff, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) AS failures, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_f, (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_ff, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) AS rated, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_f, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_ff, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) AS rating_sum, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_f, (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(OLD.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(OLD.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(OLD.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_ff, ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(OLD.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(OLD.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum, CASE WHEN (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) OR (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) OR (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) THEN OLD.created_at END AS latest) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, successes = successes + excluded.successes, success_f = success_f + excluded.success_f, success_ff = success_ff + excluded.success_ff, failures = failures + excluded.failures, failure_f = failure_f + excluded.failure_f, failure_ff = failure_ff + excluded.failure_ff, rated = rated + excluded.rated, rated_f = rated_f + excluded.rated_f, rated_ff = rated_ff + excluded.rated_ff, rating_sum = rating_sum + excluded.rating_sum, rating_f = rating_f + excluded.rating_f, rating_ff = rating_ff + excluded.rating_ff, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum, latest = max(ifnull(latest, excluded.latest), ifnull(excluded.latest, latest));
DELETE FROM feedback_rollup_types WHERE feedback_type = OLD.feedback_type
            AND rating = ifnull(OLD.rating, 0) AND entries = 0;
DELETE FROM feedback_rollup_hours WHERE hour = substr(OLD.created_at, 1, 13) AND entries = 0;
DELETE FROM feedback_rollup_workers WHERE worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND entries = 0;
DELETE FROM feedback_rollup_scores WHERE day = substr(OLD.created_at, 1, 10) AND worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND task_type = coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AND entries = 0;
UPDATE feedback_rollup_scores SET latest = (
                SELECT MAX(CASE WHEN (CASE WHEN feedback_type = 'task_completion' AND coalesce(json_type(metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) OR (CASE WHEN feedback_type = 'error_report' OR (feedback_type = 'task_completion' AND json_type(metadata, '$.success') = 'false') THEN 1 ELSE 0 END) OR (CASE WHEN rating IS NOT NULL AND feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) THEN created_at END) FROM feedback
                WHERE created_at >= feedback_rollup_scores.day
                    AND created_at < date(feedback_rollup_scores.day, '+1 day')
                    AND rowid <= (SELECT last_rowid FROM feedback_rollup_mark)
                    AND (CASE WHEN json_type(metadata, '$.worker_id') = 'text' THEN (metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(metadata, '$.worker_id') IN ('true', 'false') THEN json_type(metadata, '$.worker_id') END), (CASE WHEN json_type(metadata, '$.worker_id') = 'integer' AND metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(metadata->>'$.worker_id' AS TEXT) END)) END) = feedback_rollup_scores.worker
                    AND coalesce((CASE WHEN json_type(metadata, '$.task_type') = 'text' THEN (metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(metadata, '$.task_type') IN ('true', 'false') THEN json_type(metadata, '$.task_type') END), (CASE WHEN json_type(metadata, '$.task_type') = 'integer' AND metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(metadata->>'$.task_type' AS TEXT) END)) END), '') = feedback_rollup_scores.task_type)
            WHERE day = substr(OLD.created_at, 1, 10) AND worker = (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AND task_type = coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AND latest = OLD.created_at;
INSERT INTO feedback_rollup_types VALUES (NEW.feedback_type, ifnull(NEW.rating, 0), +1)
            ON CONFLICT DO UPDATE SET entries = entries + 1;
INSERT INTO feedback_rollup_hours VALUES (substr(NEW.created_at, 1, 13), +1, +(NEW.rating IS NOT NULL),
                +ifnull(NEW.rating, 0))
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_rollup_workers
            SELECT worker, +1, +(NEW.rating IS NOT NULL), +ifnull(NEW.rating, 0), +(NEW.feedback_type = 'error_report')
            FROM (SELECT (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'text' THEN (NEW.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(NEW.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(NEW.metadata, '$.worker_id') END), (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'integer' AND NEW.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(NEW.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, failures = failures + excluded.failures;
INSERT INTO feedback_rollup_scores SELECT day, worker, task_type, +SUM(entries) AS entries, +SUM(successes) AS successes, +SUM(success_f) AS success_f, +SUM(success_ff) AS success_ff, +SUM(failures) AS failures, +SUM(failure_f) AS failure_f, +SUM(failure_ff) AS failure_ff, +SUM(rated) AS rated, +SUM(rated_f) AS rated_f, +SUM(rated_ff) AS rated_ff, +SUM(rating_sum) AS rating_sum, +SUM(rating_f) AS rating_f, +SUM(rating_ff) AS rating_ff, +SUM(timed) AS timed, +SUM(time_sum) AS time_sum, MAX(latest) AS latest FROM (SELECT substr(NEW.created_at, 1, 10) AS day, (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'text' THEN (NEW.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(NEW.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(NEW.metadata, '$.worker_id') END), (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'integer' AND NEW.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(NEW.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(NEW.metadata, '$.task_type') = 'text' THEN (NEW.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(NEW.metadata, '$.task_type') IN ('true', 'false') THEN json_type(NEW.metadata, '$.task_type') END), (CASE WHEN json_type(NEW.metadata, '$.task_type') = 'integer' AND NEW.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(NEW.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type, 1 AS entries, (CASE WHEN NEW.feedback_type = 'task_completion' AND coalesce(json_type(NEW.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) AS successes, (CASE WHEN NEW.feedback_type = 'task_completion' AND coalesce(json_type(NEW.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS success_f, (CASE WHEN NEW.feedback_type = 'task_completion' AND coalesce(json_type(NEW.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS success_ff, (CASE WHEN NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) AS failures, (CASE WHEN NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_f, (CASE WHEN NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS failure_ff, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) AS rated, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_f, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS rated_ff, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(NEW.rating, 0) AS rating_sum, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(NEW.rating, 0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_f, (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(NEW.rating, 0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) * ((CAST(substr(NEW.created_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(NEW.created_at, 15, 2) AS INTEGER) * 60 + CAST(substr(NEW.created_at, 18, 9) AS REAL)) / 86400.0) AS rating_ff, ifnull(json_type(NEW.metadata, '$.execution_time') IN ('integer', 'real'), 0) AS timed, CASE WHEN ifnull(json_type(NEW.metadata, '$.execution_time') IN ('integer', 'real'), 0) THEN CAST(NEW.metadata->>'$.execution_time' AS REAL) ELSE 0.0 END AS time_sum, CASE WHEN (CASE WHEN NEW.feedback_type = 'task_completion' AND coalesce(json_type(NEW.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END) OR (CASE WHEN NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false') THEN 1 ELSE 0 END) OR (CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) THEN NEW.created_at END AS latest) WHERE worker IS NOT NULL GROUP BY day, worker, task_type
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries, successes = successes + excluded.successes, success_f = success_f + excluded.success_f, success_ff = success_ff + excluded.success_ff, failures = failures + excluded.failures, failure_f = failure_f + excluded.failure_f, failure_ff = failure_ff + excluded.failure_ff, rated = rated + excluded.rated, rated_f = rated_f + excluded.rated_f, rated_ff = rated_ff + excluded.rated_ff, rating_sum = rating_sum + excluded.rating_sum, rating_f = rating_f + excluded.rating_f, rating_ff = rating_ff + excluded.rating_ff, timed = timed + excluded.timed, time_sum = time_sum + excluded.time_sum, latest = max(ifnull(latest, excluded.latest), ifnull(excluded.latest, latest));
END;
CREATE TRIGGER feedback_removed_delete AFTER DELETE ON feedback BEGIN
INSERT INTO feedback_removed_types VALUES ('delete', OLD.feedback_type,
                ifnull(OLD.rating, 0), 1)
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries;
INSERT INTO feedback_removed_outcomes
            SELECT 'delete', worker, task_type, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END), (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END), (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END), (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0)
            FROM (SELECT (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type)
            WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET successes = successes + excluded.successes, failures = failures + excluded.failures, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER feedback_removed_update AFTER UPDATE OF feedback_type, rating, metadata ON feedback BEGIN
INSERT INTO feedback_removed_types VALUES ('update', OLD.feedback_type,
                ifnull(OLD.rating, 0), 1)
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries;
INSERT INTO feedback_removed_outcomes
            SELECT 'update', worker, task_type, (CASE WHEN OLD.feedback_type = 'task_completion' AND coalesce(json_type(OLD.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END), (CASE WHEN OLD.feedback_type = 'error_report' OR (OLD.feedback_type = 'task_completion' AND json_type(OLD.metadata, '$.success') = 'false') THEN 1 ELSE 0 END), (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END), (CASE WHEN OLD.rating IS NOT NULL AND OLD.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(OLD.rating, 0)
            FROM (SELECT (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'text' THEN (OLD.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(OLD.metadata, '$.worker_id') END), (CASE WHEN json_type(OLD.metadata, '$.worker_id') = 'integer' AND OLD.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') = 'text' THEN (OLD.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(OLD.metadata, '$.task_type') IN ('true', 'false') THEN json_type(OLD.metadata, '$.task_type') END), (CASE WHEN json_type(OLD.metadata, '$.task_type') = 'integer' AND OLD.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(OLD.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type)
            WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET successes = successes + excluded.successes, failures = failures + excluded.failures, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
INSERT INTO feedback_removed_types VALUES ('update', NEW.feedback_type,
                ifnull(NEW.rating, 0), -1)
            ON CONFLICT DO UPDATE SET entries = entries + excluded.entries;
INSERT INTO feedback_removed_outcomes
            SELECT 'update', worker, task_type, -(CASE WHEN NEW.feedback_type = 'task_completion' AND coalesce(json_type(NEW.metadata, '$.success'), 'true') = 'true' THEN 1 ELSE 0 END), -(CASE WHEN NEW.feedback_type = 'error_report' OR (NEW.feedback_type = 'task_completion' AND json_type(NEW.metadata, '$.success') = 'false') THEN 1 ELSE 0 END), -(CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END), -(CASE WHEN NEW.rating IS NOT NULL AND NEW.feedback_type IN (SELECT feedback_type FROM feedback_rated_types) THEN 1 ELSE 0 END) * ifnull(NEW.rating, 0)
            FROM (SELECT (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'text' THEN (NEW.metadata->>'$.worker_id') ELSE coalesce((CASE WHEN json_type(NEW.metadata, '$.worker_id') IN ('true', 'false') THEN json_type(NEW.metadata, '$.worker_id') END), (CASE WHEN json_type(NEW.metadata, '$.worker_id') = 'integer' AND NEW.metadata->>'$.worker_id' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(NEW.metadata->>'$.worker_id' AS TEXT) END)) END) AS worker, coalesce((CASE WHEN json_type(NEW.metadata, '$.task_type') = 'text' THEN (NEW.metadata->>'$.task_type') ELSE coalesce((CASE WHEN json_type(NEW.metadata, '$.task_type') IN ('true', 'false') THEN json_type(NEW.metadata, '$.task_type') END), (CASE WHEN json_type(NEW.metadata, '$.task_type') = 'integer' AND NEW.metadata->>'$.task_type' BETWEEN -999999999999999999 AND 999999999999999999 THEN CAST(NEW.metadata->>'$.task_type' AS TEXT) END)) END), '') AS task_type)
            WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET successes = successes + excluded.successes, failures = failures + excluded.failures, rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE INDEX idx_alerts_raised_at ON feedback_alerts(raised_at);
CREATE INDEX idx_alerts_worker ON feedback_alerts(worker, measure, task_type, id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('feedback_history',15);
INSERT INTO "sqlite_sequence" VALUES('feedback_top_deletions',1);
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(1, '01a251df-0598-78d3-8c2b-7cfd55e95239', 't0', 'task_completion', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(3, '01a251df-0599-7e65-890c-dd344127916d', 't2', 'task_quality', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k0","success":true,"execution_time":0.2}', '2026-10-31 10:00:00.000000', '2026-10-31 10:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(4, '01a251df-0599-75c8-a078-26a3e6c471e9', 't3', 'decomposition_effectiveness', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":0.3}', '2026-10-31 03:00:00.000000', '2026-10-31 03:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(5, '01a251df-0599-7b36-8573-5c0938eb7d27', 't4', 'error_report', 'c', 5, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":0.4}', '2026-10-30 20:00:00.000000', '2026-10-30 20:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(6, '01a251df-0599-7389-a5fc-47508f86f7a2', 't5', 'general', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-30 13:00:00.000000', '2026-10-30 13:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(7, '01a251df-0599-78ed-92fa-f5f1092e4967', 't0', 'manager_review', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":0.6}', '2026-10-30 06:00:00.000000', '2026-10-30 06:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(9, '01a251df-0599-7a38-814b-9f2ed1e3baae', 't2', 'task_completion', 'c', 4, NULL, '{"worker_id":"w2","task_type":"k0","success":false,"execution_time":0.8}', '2026-10-29 16:00:00.000000', '2026-10-29 16:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(10, '01a251df-0599-7bfc-8f4d-615393f53991', 't3', 'worker_performance', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":0.9}', '2026-10-29 09:00:00.000000', '2026-10-29 09:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(11, '01a251df-0599-76e8-9a1c-36baf59c8129', 't4', 'task_quality', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-29 02:00:00.000000', '2026-10-29 02:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(12, '01a251df-0599-75de-8788-472395b18a54', 't5', 'decomposition_effectiveness', 'c', 2, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":1.1}', '2026-10-28 19:00:00.000000', '2026-10-28 19:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(13, '01a251df-0599-7e0b-a91c-98ccb61c5bbc', 't0', 'error_report', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":false,"execution_time":1.2}', '2026-10-28 12:00:00.000000', '2026-10-28 12:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(15, '01a251df-0599-7733-9845-7b10387e0698', 't2', 'manager_review', 'c', 5, NULL, '{"worker_id":"w2","task_type":"k0","success":true,"execution_time":1.4}', '2026-10-27 22:00:00.000000', '2026-10-27 22:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(16, '01a251df-0599-7a5d-a02c-5a43530fc8e1', 't3', 'allocation_feedback', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-10-27 15:00:00.000000', '2026-10-27 15:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(17, '01a251df-0599-73bd-9073-9f242a6981cd', 't4', 'task_completion', 'c', 2, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":1.6}', '2026-10-27 08:00:00.000000', '2026-10-27 08:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(18, '01a251df-0599-7684-bf1c-1e28dd7a2683', 't5', 'worker_performance', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":1.7}', '2026-10-27 01:00:00.000000', '2026-10-27 01:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(19, '01a251df-0599-770a-a418-1cfeae4ec4df', 't0', 'task_quality', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":1.8}', '2026-10-26 18:00:00.000000', '2026-10-26 18:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(21, '01a251df-0599-7ac1-a677-5593b34efeda', 't2', 'error_report', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-26 04:00:00.000000', '2026-10-26 04:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(22, '01a251df-0599-78dd-bc2c-45cc8614a1d7', 't3', 'general', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":2.1}', '2026-10-25 21:00:00.000000', '2026-10-25 21:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(23, '01a251df-0599-7b0c-b5f9-6d7e20db1e11', 't4', 'manager_review', 'c', 3, NULL, '{"worker_id":"w1","task_type":"k0","success":true,"execution_time":2.2}', '2026-10-25 14:00:00.000000', '2026-10-25 14:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(24, '01a251df-0599-7127-8b1d-a545955a255b', 't5', 'allocation_feedback', 'c', 4, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":2.3}', '2026-10-25 07:00:00.000000', '2026-10-25 07:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(25, '01a251df-0599-7f6f-b290-c7e628f183da', 't0', 'task_completion', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":false,"execution_time":2.4}', '2026-10-25 00:00:00.000000', '2026-10-25 00:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(27, '01a251df-0599-7606-aaaf-3217aca2b230', 't2', 'task_quality', 'c', 2, NULL, '{"worker_id":"w2","task_type":"k0","success":true,"execution_time":2.6}', '2026-10-24 10:00:00.000000', '2026-10-24 10:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(28, '01a251df-0599-72c6-aaa0-dab96d8081c1', 't3', 'decomposition_effectiveness', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":2.7}', '2026-10-24 03:00:00.000000', '2026-10-24 03:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(29, '01a251df-0599-7333-b5c4-d91d6b20548c', 't4', 'error_report', 'c', 4, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":2.8}', '2026-10-23 20:00:00.000000', '2026-10-23 20:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(30, '01a251df-0599-78d2-91b0-6f03cc089219', 't5', 'general', 'c', 5, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":2.9}', '2026-10-23 13:00:00.000000', '2026-10-23 13:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(31, '01a251df-0599-791c-b60c-a8a7e60ec36b', 't0', 'manager_review', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-10-23 06:00:00.000000', '2026-10-23 06:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(33, '01a251df-0599-7b96-b8cd-72afc298d08b', 't2', 'task_completion', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k0","success":false,"execution_time":3.2}', '2026-10-22 16:00:00.000000', '2026-10-22 16:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(34, '01a251df-0599-7d3e-ac05-a87b881efabf', 't3', 'worker_performance', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":3.3}', '2026-10-22 09:00:00.000000', '2026-10-22 09:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(35, '01a251df-0599-70e9-9eab-6eac8536d343', 't4', 'task_quality', 'c', 5, NULL, '{"worker_id":"w1","task_type":"k0","success":true,"execution_time":3.4}', '2026-10-22 02:00:00.000000', '2026-10-22 02:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(36, '01a251df-0599-72da-82c2-d090f274209c', 't5', 'decomposition_effectiveness', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-21 19:00:00.000000', '2026-10-21 19:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(37, '01a251df-0599-7a13-ace9-11d89ad661cf', 't0', 'error_report', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":false,"execution_time":3.6}', '2026-10-21 12:00:00.000000', '2026-10-21 12:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(39, '01a251df-0599-7798-b289-8f2c73c903ff', 't2', 'manager_review', 'c', 4, NULL, '{"worker_id":"w2","task_type":"k0","success":true,"execution_time":3.8}', '2026-10-20 22:00:00.000000', '2026-10-20 22:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(40, '01a251df-0599-789f-9903-3f352c7873c4', 't3', 'allocation_feedback', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":3.9}', '2026-10-20 15:00:00.000000', '2026-10-20 15:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(41, '01a251df-0599-7c85-8f62-3522e55c4167', 't4', 'task_completion', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-20 08:00:00.000000', '2026-10-20 08:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(42, '01a251df-0599-77a6-b1d8-c4625ab5b404', 't5', 'worker_performance', 'c', 2, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":4.1}', '2026-10-20 01:00:00.000000', '2026-10-20 01:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(43, '01a251df-0599-7700-b121-e919d597bff9', 't0', 'task_quality', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":4.2}', '2026-10-19 18:00:00.000000', '2026-10-19 18:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(45, '01a251df-0599-7d87-bdd9-753c9ddd2d2d', 't2', 'error_report', 'c', 5, NULL, '{"worker_id":"w2","task_type":"k0","success":false,"execution_time":4.4}', '2026-10-19 04:00:00.000000', '2026-10-19 04:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(46, '01a251df-0599-7423-8dd1-6b1527e5036a', 't3', 'general', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-10-18 21:00:00.000000', '2026-10-18 21:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(47, '01a251df-0599-7600-91aa-a0ee8b9d7da1', 't4', 'manager_review', 'c', 2, NULL, '{"worker_id":"w1","task_type":"k0","success":true,"execution_time":4.6}', '2026-10-18 14:00:00.000000', '2026-10-18 14:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(48, '01a251df-0599-7921-addb-c6caefdfdb5c', 't5', 'allocation_feedback', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":4.7}', '2026-10-18 07:00:00.000000', '2026-10-18 07:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(49, '01a251df-0599-70cd-978c-91ef346e235f', 't0', 'task_completion', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":false,"execution_time":4.8}', '2026-10-18 00:00:00.000000', '2026-10-18 00:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(51, '01a251df-0599-7f86-b01d-24cc826936e9', 't2', 'task_quality', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-17 10:00:00.000000', '2026-10-17 10:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(52, '01a251df-0599-7ba3-911d-562bc516c8f5', 't3', 'decomposition_effectiveness', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":5.1}', '2026-10-17 03:00:00.000000', '2026-10-17 03:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(53, '01a251df-0599-7fa2-90f2-2a37b22353e8', 't4', 'error_report', 'c', 3, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":5.2}', '2026-10-16 20:00:00.000000', '2026-10-16 20:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(54, '01a251df-0599-75b7-80d6-1ab61af2f5a5', 't5', 'general', 'c', 4, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":5.3}', '2026-10-16 13:00:00.000000', '2026-10-16 13:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(55, '01a251df-0599-7ea0-b35b-2945d8fa4fc6', 't0', 'manager_review', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":5.4}', '2026-10-16 06:00:00.000000', '2026-10-16 06:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(57, '01a251df-0599-71b6-9c7b-06d3eba1b50b', 't2', 'task_completion', 'c', 2, NULL, '{"worker_id":"w2","task_type":"k0","success":false,"execution_time":5.6}', '2026-10-15 16:00:00.000000', '2026-10-15 16:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(58, '01a251df-0599-77e3-a618-8d4d517ff4e4', 't3', 'worker_performance', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":5.7}', '2026-10-15 09:00:00.000000', '2026-10-15 09:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(59, '01a251df-0599-74f0-963e-78382f496165', 't4', 'task_quality', 'c', 4, NULL, '{"worker_id":"w1","task_type":"k0","success":true,"execution_time":5.8}', '2026-10-15 02:00:00.000000', '2026-10-15 02:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(60, '01a251df-0599-74ba-9a24-3c74cebb51a5', 't5', 'decomposition_effectiveness', 'c', 5, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":5.9}', '2026-10-14 19:00:00.000000', '2026-10-14 19:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(61, '01a251df-0599-756e-bd20-6e93e0d12d08', 't0', 'error_report', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-10-14 12:00:00.000000', '2026-10-14 12:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(63, '01a251df-0599-7a96-b83a-1af8bfe24299', 't2', 'manager_review', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k0","success":true,"execution_time":6.2}', '2026-10-13 22:00:00.000000', '2026-10-13 22:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(64, '01a251df-0599-7e10-826e-db4989e5fc4c', 't3', 'allocation_feedback', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":6.3}', '2026-10-13 15:00:00.000000', '2026-10-13 15:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(65, '01a251df-0599-7655-962b-59cdd84f32b4', 't4', 'task_completion', 'c', 5, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":6.4}', '2026-10-13 08:00:00.000000', '2026-10-13 08:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(66, '01a251df-0599-7bcb-9d34-81ff63d494ff', 't5', 'worker_performance', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-13 01:00:00.000000', '2026-10-13 01:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(67, '01a251df-0599-7fa7-8e76-6e6a32090c21', 't0', 'task_quality', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":6.6}', '2026-10-12 18:00:00.000000', '2026-10-12 18:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(69, '01a251df-0599-7a61-96fd-1cdffe65a860', 't2', 'error_report', 'c', 4, NULL, '{"worker_id":"w2","task_type":"k0","success":false,"execution_time":6.8}', '2026-10-12 04:00:00.000000', '2026-10-12 04:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(70, '01a251df-0599-7a69-bbf5-d63c64cdbd98', 't3', 'general', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1","success":true,"execution_time":6.9}', '2026-10-11 21:00:00.000000', '2026-10-11 21:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(71, '01a251df-0599-7a31-9aad-83fd2e108266', 't4', 'manager_review', 'c', 1, NULL, '{"task_type":"k0"}', '2026-10-11 14:00:00.000000', '2026-10-11 14:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(72, '01a251df-0599-7c27-805b-4e2eb021edce', 't5', 'allocation_feedback', 'c', 2, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":7.1}', '2026-10-11 07:00:00.000000', '2026-10-11 07:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(73, '01a251df-0599-7aef-bdcf-85d699354ebf', 't0', 'task_completion', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":false,"execution_time":7.2}', '2026-10-11 00:00:00.000000', '2026-10-11 00:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(75, '01a251df-0599-77d7-a112-3559cd8b2d26', 't2', 'task_quality', 'c', 1, NULL, '{"worker_id":"w9","task_type":"k0","success":true,"execution_time":7.4}', '2026-10-10 10:00:00.000000', '2026-10-10 10:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(76, '01a251df-0599-7a58-919b-304ce85e1bbe', 't3', 'decomposition_effectiveness', 'c', NULL, NULL, '{"task_type":"k0"}', '2026-10-10 03:00:00.000000', '2026-10-10 03:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(77, '01a251df-0599-7157-a98a-11d78bbb0173', 't4', 'error_report', 'c', 2, NULL, '{"worker_id":"w1","task_type":"k0","success":false,"execution_time":7.6}', '2026-10-09 20:00:00.000000', '2026-10-09 20:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(78, '01a251df-0599-7c92-975e-ef04e8547ea4', 't5', 'general', 'c', 3, NULL, '{"worker_id":"w2","task_type":"k1","success":true,"execution_time":7.7}', '2026-10-09 13:00:00.000000', '2026-10-09 13:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(79, '01a251df-0599-70b5-9416-9701617e4d0c', 't0', 'manager_review', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k0","success":true,"execution_time":7.8}', '2026-10-09 06:00:00.000000', '2026-10-09 06:00:00.000000');
INSERT INTO "feedback"(rowid, id, task_id, feedback_type, content, rating, user_id, metadata, created_at, updated_at) VALUES(80, '01a251df-05a3-7907-a12f-7c4333d00c08', 'late', 'task_completion', 'c', NULL, NULL, '{"worker_id":"w0","task_type":"k1"}', '2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000');
COMMIT;
PRAGMA user_version = 11;
