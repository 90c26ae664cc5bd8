-- National-scale data set (issue 19): one national campaign over 31 provinces,
-- ~340 cities, ~2,800 counties, ~39,000 townships, ~490,000 villages and 23.4
-- million households with their offices' records, ~60 % of them verified, and
-- the per-region progress counters as the app's recount would store them.
--
-- Run by scripts/national/run.sh on a database whose schema the api binary
-- has just created (empty tables). Set-based: every big table is one
-- INSERT … SELECT over generate_series, with its indexes and foreign keys
-- dropped for the load and restored afterwards exactly as the migrations
-- made them (checked against a catalogue snapshot taken before).
--
-- Variables (psql -v): cities, counties, townships, villages, households,
-- verified_pct, password_hash (an Argon2id PHC string, as the app stores it).
-- Everything is deterministic: IDs are md5-derived from codes and sequence
-- numbers, and every "random" draw is hashint8 of a household's number.

\set ON_ERROR_STOP on
\timing on
SET client_min_messages = warning;
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
-- One process only: the machine is shared (run.sh renices this backend).
SET max_parallel_workers_per_gather = 0;
SET max_parallel_maintenance_workers = 0;

CREATE FUNCTION pg_temp.assert(ok boolean, msg text) RETURNS void LANGUAGE plpgsql
  AS $$ BEGIN IF ok IS NOT TRUE THEN RAISE EXCEPTION 'generate.sql: %', msg; END IF; END $$;
SELECT pg_temp.assert(count(*) = 0, 'regions is not empty: a fresh database is needed (run.sh --drop)') FROM regions;

SELECT md5('hsv-national-campaign-2020')::uuid AS campaign_id, now() AS t0 \gset

-- ---------------------------------------------------------------------------
\echo '== helpers'
-- A deterministic draw in [0, m) for household (or region) number g and salt s.
CREATE FUNCTION pg_temp.r(g bigint, s int, m int) RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8(g * 64 + s) & 2147483647) % m $$;

-- The GB 11643 check character of 17 digits (ISO 7064 MOD 11-2), only used
-- for the small lookup tables below and the self-test.
CREATE FUNCTION pg_temp.wsum(s text, first_weight int) RETURNS int
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT sum(substr(s, i, 1)::int * (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[first_weight + i - 1])::int
        FROM generate_series(1, length(s)) i $$;
CREATE FUNCTION pg_temp.check_char(s bigint) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT substr('10X98765432', (s % 11)::int + 1, 1) $$;
-- Self-test against the sample files' numbers.
SELECT pg_temp.assert(pg_temp.check_char(pg_temp.wsum('13112619871108429', 1)) = '4'
                  AND pg_temp.check_char(pg_temp.wsum('13112619360705085', 1)) = 'X', 'ID check character');

-- Birth dates 1930-01-01 + 0 … 25549 days, with the weighted digit sum of
-- their YYYYMMDD (ID positions 7–14), so the check character of 23 million
-- ID numbers is a lookup and a few additions.
CREATE TEMP TABLE gen_birth AS
SELECT k, to_char(date '1930-01-01' + k, 'YYYYMMDD') AS ymd,
       pg_temp.wsum(to_char(date '1930-01-01' + k, 'YYYYMMDD'), 7) AS wsum
FROM generate_series(0, 25549) k;
ALTER TABLE gen_birth ADD PRIMARY KEY (k);
ANALYZE gen_birth;

-- ---------------------------------------------------------------------------
\echo '== catalogue snapshot; dropping the big tables'' indexes and foreign keys for the load'
DROP SCHEMA IF EXISTS national_gen CASCADE;
CREATE SCHEMA national_gen;
CREATE VIEW national_gen.catalogue AS
  SELECT 'index' AS kind, tablename::text AS tbl, indexname::text AS name, indexdef AS def
    FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text, conname::text,
         contype::text || ' ' || pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' NOT VALIDATED' END
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace;
CREATE TABLE national_gen.before AS SELECT * FROM national_gen.catalogue;

CREATE TABLE national_gen.big (tbl regclass PRIMARY KEY);
INSERT INTO national_gen.big VALUES
  ('households'), ('reference_records'), ('verifications'), ('region_counters');

-- Constraints on the big tables or pointing at them (keys, uniques, foreign keys).
CREATE TABLE national_gen.saved_constraints AS
SELECT conrelid::regclass::text AS tbl, conname::text AS name, contype::text AS contype,
       pg_get_constraintdef(oid) AS def
FROM pg_constraint
WHERE contype IN ('p', 'u', 'f')
  AND (conrelid IN (SELECT tbl FROM national_gen.big) OR confrelid IN (SELECT tbl FROM national_gen.big));
-- Plain indexes of the big tables (not those backing a constraint).
CREATE TABLE national_gen.saved_indexes AS
SELECT i.tablename::text AS tbl, i.indexname::text AS name, i.indexdef AS def
FROM pg_indexes i
WHERE i.schemaname = 'public'
  AND i.tablename::regclass IN (SELECT tbl FROM national_gen.big)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass
                  AND c.contype IN ('p', 'u'));

DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM national_gen.saved_constraints ORDER BY (contype = 'f') DESC, tbl, name LOOP
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tbl, r.name);
  END LOOP;
  FOR r IN SELECT * FROM national_gen.saved_indexes LOOP
    EXECUTE format('DROP INDEX %I', r.name);
  END LOOP;
END $$;
SELECT count(*) AS constraints_dropped FROM national_gen.saved_constraints;
SELECT count(*) AS indexes_dropped FROM national_gen.saved_indexes;

-- ---------------------------------------------------------------------------
\echo '== region tree'
-- Each level: a parent gets 1 + its weighted share of (children − parents),
-- by cumulative sums, so totals are exact and every parent has a child.
CREATE TEMP TABLE gen_province (seq int, code2 text, name text);
INSERT INTO gen_province
SELECT row_number() OVER (ORDER BY code2), code2, name FROM (VALUES
  ('11','北京市'),('12','天津市'),('13','河北省'),('14','山西省'),('15','内蒙古自治区'),
  ('21','辽宁省'),('22','吉林省'),('23','黑龙江省'),('31','上海市'),('32','江苏省'),
  ('33','浙江省'),('34','安徽省'),('35','福建省'),('36','江西省'),('37','山东省'),
  ('41','河南省'),('42','湖北省'),('43','湖南省'),('44','广东省'),('45','广西壮族自治区'),
  ('46','海南省'),('50','重庆市'),('51','四川省'),('52','贵州省'),('53','云南省'),
  ('54','西藏自治区'),('61','陕西省'),('62','甘肃省'),('63','青海省'),('64','宁夏回族自治区'),
  ('65','新疆维吾尔自治区')) p(code2, name);

CREATE TEMP TABLE gen_city AS
WITH w AS (SELECT p.*, (5 + pg_temp.r(p.seq, 1, 12))::bigint AS wt FROM gen_province p),
c AS (SELECT w.*, sum(wt) OVER (ORDER BY seq)::bigint AS cum, sum(wt) OVER ()::bigint AS tot,
             (:cities - count(*) OVER ())::bigint AS extra FROM w),
n AS (SELECT c.*, 1 + extra * cum / tot - extra * (cum - wt) / tot AS n,
             (seq - 1) + extra * (cum - wt) / tot AS start FROM c)
SELECT (n.start + i)::int AS seq, i::int AS k, n.seq AS p_seq, n.code2 || lpad(i::text, 2, '0') AS code4,
       (ARRAY['安','保','沧','承','德','邯','衡','廊','秦','石','唐','邢','张','晋','临','运','忻','吕','朔','阳'])[1 + pg_temp.r(n.start + i, 2, 20)]
    || (ARRAY['山','州','平','城','水','川','定','宁','江','原','兴','阳','泉','德','口','坊','台','安','海','林'])[1 + pg_temp.r(n.start + i, 3, 20)]
    || '市' AS name
FROM n, generate_series(1, n.n) AS s(i);

CREATE TEMP TABLE gen_county AS
WITH w AS (SELECT c.*, (4 + pg_temp.r(c.seq, 4, 10))::bigint AS wt FROM gen_city c),
c AS (SELECT w.*, sum(wt) OVER (ORDER BY seq)::bigint AS cum, sum(wt) OVER ()::bigint AS tot,
             (:counties - count(*) OVER ())::bigint AS extra FROM w),
n AS (SELECT c.*, 1 + extra * cum / tot - extra * (cum - wt) / tot AS n,
             (seq - 1) + extra * (cum - wt) / tot AS start FROM c)
SELECT (n.start + i)::int AS seq, i::int AS k, n.seq AS city_seq, n.code4 || lpad(i::text, 2, '0') AS code6,
       (ARRAY['故','枣','武','饶','安','深','景','阜','冀','清','南','新','临','永','大','广','平','乐','高','博'])[1 + pg_temp.r(n.start + i, 5, 20)]
    || (ARRAY['城','强','邑','阳','平','州','县','河','丰','远','宫','乐','泉','安','宁','原','水','山','陵','昌'])[1 + pg_temp.r(n.start + i, 6, 20)]
    || '县' AS name,
       pg_temp.wsum(n.code4 || lpad(i::text, 2, '0'), 1) AS c_wsum,
       22.0 + pg_temp.r(n.start + i, 7, 2400) / 100.0 AS lat,
       98.0 + pg_temp.r(n.start + i, 8, 2400) / 100.0 AS lon
FROM n, generate_series(1, n.n) AS s(i);

-- Townships: names unique within their county (two of 30 × 12 characters,
-- rotated per county, then 镇 or 乡), as imports match townships by name.
CREATE TEMP TABLE gen_township AS
WITH w AS (SELECT c.*, (6 + pg_temp.r(c.seq, 9, 16))::bigint AS wt FROM gen_county c),
c AS (SELECT w.*, sum(wt) OVER (ORDER BY seq)::bigint AS cum, sum(wt) OVER ()::bigint AS tot,
             (:townships - count(*) OVER ())::bigint AS extra FROM w),
n AS (SELECT c.*, 1 + extra * cum / tot - extra * (cum - wt) / tot AS n,
             (seq - 1) + extra * (cum - wt) / tot AS start, pg_temp.r(c.seq, 10, 360) AS off FROM c)
SELECT (n.start + i)::int AS seq, i::int AS k, n.seq AS county_seq,
       n.code6 || (99 + i)::text || '000' AS code,
       (ARRAY['东','西','南','北','城','关','河','山','桥','湖','新','和','平','安','兴','永','福','宁','清','泉','石','龙','凤','马','杨','柳','青','白','金','高'])[1 + (i - 1 + n.off) % 360 % 30]
    || (ARRAY['庄','集','店','口','营','屯','寨','坊','堡','塘','岗','铺'])[1 + (i - 1 + n.off) % 360 / 30]
    || CASE WHEN pg_temp.r(n.start + i, 11, 3) = 0 THEN '乡' ELSE '镇' END AS name
FROM n, generate_series(1, n.n) AS s(i);

-- Villages: names unique within their township (as the demo's: prefix,
-- surname, suffix; 2880 combinations rotated per township).
CREATE TEMP TABLE gen_village AS
WITH w AS (SELECT t.*, (6 + pg_temp.r(t.seq, 12, 14))::bigint AS wt FROM gen_township t),
c AS (SELECT w.*, sum(wt) OVER (ORDER BY seq)::bigint AS cum, sum(wt) OVER ()::bigint AS tot,
             (:villages - count(*) OVER ())::bigint AS extra FROM w),
n AS (SELECT c.*, 1 + extra * cum / tot - extra * (cum - wt) / tot AS n,
             (seq - 1) + extra * (cum - wt) / tot AS start, pg_temp.r(c.seq, 13, 2880) AS off FROM c)
SELECT (n.start + i)::int AS seq, i::int AS k, n.seq AS township_seq,
       left(n.code, 9) || (199 + i)::text AS code,
       (ARRAY['前','后','东','西','南','北','大','小','中','上','下','新'])[1 + (i - 1 + n.off) % 2880 % 12]
    || (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡','朱','高','林','何','郭','马','罗','梁','宋','郑','谢','韩','唐','冯','于','董','萧'])[1 + (i - 1 + n.off) % 2880 / 12 % 30]
    || (ARRAY['庄','村','屯','营','寨','店','集','口'])[1 + (i - 1 + n.off) % 2880 / 360]
    AS name
FROM n, generate_series(1, n.n) AS s(i);

SELECT pg_temp.assert(max(k) <= 99, 'more than 99 cities in a province') FROM gen_city;
SELECT pg_temp.assert(max(k) <= 99, 'more than 99 counties in a city') FROM gen_county;
SELECT pg_temp.assert(max(k) <= 99, 'more than 99 townships in a county (household codes give it two digits)') FROM gen_township;
SELECT pg_temp.assert(max(k) <= 799, 'more than 799 villages in a township') FROM gen_village;

-- The rows, with IDs derived from the codes. The nation is the root, path ''
-- (so a province's path is '13…/' as without it).
CREATE TEMP TABLE gen_region AS
SELECT md5('hsv-region-000000000000')::uuid AS id, '000000000000'::text AS code, '全国'::text AS name,
       'NATION'::text AS level, NULL::uuid AS parent_id, ''::text AS path,
       NULL::float8 AS latitude, NULL::float8 AS longitude;
INSERT INTO gen_region
SELECT md5('hsv-region-' || code2 || '0000000000')::uuid, code2 || '0000000000', name, 'PROVINCE',
       md5('hsv-region-000000000000')::uuid, code2 || '0000000000/', NULL, NULL
FROM gen_province;
INSERT INTO gen_region
SELECT md5('hsv-region-' || c.code4 || '00000000')::uuid, c.code4 || '00000000', c.name, 'CITY',
       md5('hsv-region-' || p.code2 || '0000000000')::uuid,
       p.code2 || '0000000000/' || c.code4 || '00000000/', NULL, NULL
FROM gen_city c JOIN gen_province p ON p.seq = c.p_seq;
INSERT INTO gen_region
SELECT md5('hsv-region-' || co.code6 || '000000')::uuid, co.code6 || '000000', co.name, 'COUNTY',
       md5('hsv-region-' || ci.code4 || '00000000')::uuid,
       left(ci.code4, 2) || '0000000000/' || ci.code4 || '00000000/' || co.code6 || '000000/', co.lat, co.lon
FROM gen_county co JOIN gen_city ci ON ci.seq = co.city_seq;
INSERT INTO gen_region
SELECT md5('hsv-region-' || t.code)::uuid, t.code, t.name, 'TOWNSHIP',
       md5('hsv-region-' || co.code6 || '000000')::uuid,
       left(co.code6, 2) || '0000000000/' || left(co.code6, 4) || '00000000/' || co.code6 || '000000/' || t.code || '/',
       NULL, NULL
FROM gen_township t JOIN gen_county co ON co.seq = t.county_seq;
INSERT INTO gen_region
SELECT md5('hsv-region-' || v.code)::uuid, v.code, v.name, 'VILLAGE',
       md5('hsv-region-' || t.code)::uuid,
       left(t.code, 2) || '0000000000/' || left(t.code, 4) || '00000000/' || left(t.code, 6) || '000000/'
         || t.code || '/' || v.code || '/',
       co.lat - 0.3 + pg_temp.r(v.seq, 14, 6000) / 10000.0, co.lon - 0.3 + pg_temp.r(v.seq, 15, 6000) / 10000.0
FROM gen_village v JOIN gen_township t ON t.seq = v.township_seq JOIN gen_county co ON co.seq = t.county_seq;

INSERT INTO regions (id, code, name, level, parent_id, path, latitude, longitude, created_at)
SELECT id, code, name, level, parent_id, path, latitude, longitude, :'t0'
FROM gen_region ORDER BY length(path), code;
SELECT level, count(*) FROM regions GROUP BY level ORDER BY min(length(path));

-- ---------------------------------------------------------------------------
\echo '== households per village'
-- Per village: its number of households n, the number h0 of the first one
-- (households are numbered 0 … N−1 in code order), and what the household
-- rows repeat (township, county, names, the county's share of the ID check sum).
CREATE TEMP TABLE gen_hv AS
WITH w AS (SELECT v.*, (8 + pg_temp.r(v.seq, 16, 20))::bigint AS wt FROM gen_village v),
c AS (SELECT w.*, sum(wt) OVER (ORDER BY seq)::bigint AS cum, sum(wt) OVER ()::bigint AS tot,
             (:households - count(*) OVER ())::bigint AS extra FROM w),
n AS (SELECT c.*, 1 + extra * cum / tot - extra * (cum - wt) / tot AS n,
             (seq - 1) + extra * (cum - wt) / tot AS h0 FROM c)
SELECT n.seq AS v_seq, n.h0, n.n,
       md5('hsv-region-' || n.code)::uuid AS village_id, n.name AS village_name,
       md5('hsv-region-' || t.code)::uuid AS township_id, t.name AS township_name,
       md5('hsv-region-' || co.code6 || '000000')::uuid AS county_id, co.code6, co.name AS county_name,
       co.seq AS county_seq,
       co.code6 || lpad(t.k::text, 2, '0') || lpad(n.k::text, 3, '0') AS code11,
       co.c_wsum,
       gr.latitude AS lat, gr.longitude AS lon
FROM n JOIN gen_township t ON t.seq = n.township_seq JOIN gen_county co ON co.seq = t.county_seq
JOIN gen_region gr ON gr.code = n.code;
-- The first household of each county (for row numbers in the county's files).
ALTER TABLE gen_hv ADD COLUMN c_h0 bigint;
UPDATE gen_hv h SET c_h0 = m.c_h0 FROM (SELECT county_seq, min(h0) AS c_h0 FROM gen_hv GROUP BY county_seq) m
WHERE m.county_seq = h.county_seq;
SELECT pg_temp.assert(max(n) <= 99999, 'more than 99999 households in a village'),
       pg_temp.assert(sum(n) = :households, 'household total does not add up') FROM gen_hv;
ANALYZE gen_hv;

-- One row per household with every drawn attribute, as a view: the three
-- big inserts read the same definitions, so a household's poverty record
-- repeats exactly its name, ID number, size and phone.
--   p: 0 … 4552 as the demo's 3473 appraised / 1023 renovated / 57 secured
CREATE TEMP VIEW gen_household AS
SELECT x.*,
       md5('hsv-household-' || x.g)::uuid AS id,
       x.code11 || lpad((x.j + 1)::text, 5, '0') AS code,
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡','朱','高','林','何','郭','马','罗','梁','宋','郑','谢','韩','唐','冯','于','董','萧'])[1 + pg_temp.r(x.g, 20, 30)]
         || (ARRAY['明','国','华','建','军','兰','英','秀','梅','凤','春','海','强','平','淑','红','玉','芳','桂','荣','志','福','顺','长','德','文','学','振','金','银','成','忠','新','连','宝','占','永','书','素','俊'])[1 + pg_temp.r(x.g, 21, 40)]
         || CASE WHEN pg_temp.r(x.g, 22, 2) = 0 THEN ''
                 ELSE (ARRAY['明','国','华','建','军','兰','英','秀','梅','凤','春','海','强','平','淑','红','玉','芳','桂','荣','志','福','顺','长','德','文','学','振','金','银','成','忠','新','连','宝','占','永','书','素','俊'])[1 + pg_temp.r(x.g, 23, 40)] END
         AS head_name,
       x.code6 || b.ymd || lpad(x.seq3::text, 3, '0')
         || pg_temp.check_char(x.c_wsum + b.wsum + 8 * (x.seq3 / 100) + 4 * (x.seq3 / 10 % 10) + 2 * (x.seq3 % 10)) AS id_number,
       1 + pg_temp.r(x.g, 24, 6) AS size,
       '1' || (ARRAY['3','5','7','8','9'])[1 + pg_temp.r(x.g, 25, 5)] || lpad(pg_temp.r(x.g, 26, 1000000000)::text, 9, '0') AS phone,
       CASE WHEN x.p < 3473 THEN 'APPRAISED' WHEN x.p < 4496 THEN 'RENOVATED' ELSE 'SECURED' END AS expected_path,
       2014 + pg_temp.r(x.g, 27, 6) AS renovation_year
FROM (
  SELECT hv.*, hv.h0 + j AS g, j, 1 + (hv.h0 + j) / 25550 AS seq3,
         pg_temp.r(hv.h0 + j, 28, 4553) AS p
  FROM gen_hv hv, generate_series(0, hv.n - 1) j
) x
JOIN gen_birth b ON b.k = x.g % 25550 * 7919 % 25550;

-- ---------------------------------------------------------------------------
\echo '== campaign, milestones, counties'
-- county_id is written equal to region_id, as the app does while the release
-- before campaigns above the county may still run (migration 000010).
INSERT INTO campaigns (id, name, county_id, region_id, time_zone, starts_on, ends_on, created_at)
VALUES (:'campaign_id', '2020年全国建档立卡贫困户住房安全有保障核验', md5('hsv-region-000000000000')::uuid,
        md5('hsv-region-000000000000')::uuid, 'Asia/Shanghai', date '2020-05-14', date '2020-05-21', :'t0');
-- The 2020 pilot's three milestones laid out from 2020-05-14 (templates.rs):
-- training days 1–2, household verification days 2–6, look-back days 7–8.
INSERT INTO milestones (id, campaign_id, kind, title, starts_at, ends_at, target_metric, target_percent, created_at, updated_at)
SELECT md5('hsv-national-milestone-' || kind)::uuid, :'campaign_id', kind, title,
       (date '2020-05-14' + s)::timestamp AT TIME ZONE 'Asia/Shanghai',
       (date '2020-05-14' + e)::timestamp AT TIME ZONE 'Asia/Shanghai',
       metric, pct, :'t0', :'t0'
FROM (VALUES ('TRAINING', '动员培训 Mobilisation and training', 0, 2, 'NONE', 0.0::float8),
             ('VERIFICATION', '逐户核验 Household verification', 1, 6, 'SUBMITTED', 100.0),
             ('LOOK_BACK', '回头看 Look-back review', 6, 8, 'APPROVED', 100.0)) m(kind, title, s, e, metric, pct);
INSERT INTO campaign_counties (campaign_id, county_id, joined_at)
SELECT :'campaign_id', id, :'t0' FROM regions WHERE level = 'COUNTY';

-- ---------------------------------------------------------------------------
\echo '== households'
INSERT INTO households (id, campaign_id, code, head_name, id_number, size, phone, county_id, township_id,
                        village_id, expected_path, created_at, updated_at, created_by_import)
SELECT id, :'campaign_id', code, head_name, id_number, size, phone, county_id, township_id,
       village_id, expected_path, :'t0', :'t0', NULL
FROM gen_household;

\echo '== reference records: poverty list (every household)'
INSERT INTO reference_records (id, campaign_id, county_id, import_id, source, household_code, household_id,
       head_name, id_number, township_name, village_name, household_size, phone, exit_year,
       source_file, row_number, current, superseded_by, created_at)
SELECT md5('hsv-ref-POVERTY-' || g)::uuid, :'campaign_id', county_id, NULL, 'POVERTY', code, id,
       head_name, id_number, township_name, village_name, size, phone, 2016 + pg_temp.r(g, 30, 5),
       'national/' || code6 || '/poverty-households.csv', (g - c_h0 + 2)::int, true, NULL, :'t0'
FROM gen_household;

\echo '== reference records: appraisals (every household: A/B safe, C/D before renovation or securing)'
INSERT INTO reference_records (id, campaign_id, county_id, import_id, source, household_code, household_id,
       head_name, id_number, grade, appraised_on, appraiser,
       source_file, row_number, current, superseded_by, created_at)
SELECT md5('hsv-ref-APPRAISAL-' || g)::uuid, :'campaign_id', county_id, NULL, 'APPRAISAL', code, id,
       head_name, id_number,
       CASE WHEN expected_path = 'APPRAISED' THEN CASE WHEN pg_temp.r(g, 31, 10) < 6 THEN 'A' ELSE 'B' END
            ELSE CASE WHEN pg_temp.r(g, 31, 2) = 0 THEN 'C' ELSE 'D' END END,
       make_date(CASE expected_path WHEN 'APPRAISED' THEN 2017 + pg_temp.r(g, 32, 3)
                                    WHEN 'RENOVATED' THEN renovation_year - 1 ELSE 2019 END,
                 1 + pg_temp.r(g, 33, 12), 1 + pg_temp.r(g, 34, 28)),
       county_name || '住房和城乡建设局',
       'national/' || code6 || '/housing-appraisals.csv', (g - c_h0 + 2)::int, true, NULL, :'t0'
FROM gen_household;

\echo '== reference records: renovations (renovated households, accepted)'
INSERT INTO reference_records (id, campaign_id, county_id, import_id, source, household_code, household_id,
       head_name, id_number, renovation_year, renovation_kind, accepted_on, subsidy_yuan,
       source_file, row_number, current, superseded_by, created_at)
SELECT md5('hsv-ref-RENOVATION-' || g)::uuid, :'campaign_id', county_id, NULL, 'RENOVATION', code, id,
       head_name, id_number, renovation_year,
       CASE WHEN pg_temp.r(g, 35, 2) = 0 THEN '拆除重建' ELSE '修缮加固' END,
       make_date(renovation_year, 6 + pg_temp.r(g, 36, 6), 1 + pg_temp.r(g, 37, 28)),
       10000 + 1000 * pg_temp.r(g, 38, 21),
       'national/' || code6 || '/housing-renovations.csv',
       (row_number() OVER (PARTITION BY county_seq ORDER BY g) + 1)::int, true, NULL, :'t0'
FROM gen_household WHERE expected_path = 'RENOVATED';

\echo '== verifications (verified_pct of households: half approved, a third submitted, the rest drafts)'
INSERT INTO verifications (id, campaign_id, household_id, practice, status, path, version, evidence,
       structure, floors, floor_area, year_built, occupants, latitude, longitude, notes,
       verified_by, submitted_at, approved_by, approved_at, return_reason, created_at, updated_at)
SELECT md5('hsv-verification-' || g)::uuid, :'campaign_id', id, false, status, expected_path,
       CASE status WHEN 'DRAFT' THEN 1 WHEN 'SUBMITTED' THEN 2 ELSE 3 END,
       CASE expected_path
         WHEN 'APPRAISED' THEN '{"appraisal": {"confirmedOnSite": true}, "renovation": null, "secured": null}'::jsonb
         WHEN 'RENOVATED' THEN jsonb_build_object('appraisal', NULL, 'secured', NULL, 'renovation',
              jsonb_build_object('kind', CASE WHEN pg_temp.r(g, 35, 2) = 0 THEN 'REBUILT' ELSE 'REINFORCED' END,
                                 'newAddress', NULL))
         ELSE jsonb_build_object('appraisal', NULL, 'renovation', NULL, 'secured',
              jsonb_build_object('arrangement', 'RELATIVES', 'address', township_name || village_name,
                                 'withWhom', '亲属', 'description', NULL)) END,
       (ARRAY['砖混','砖木','土木','钢混'])[1 + pg_temp.r(g, 40, 4)], 1 + pg_temp.r(g, 41, 2),
       40 + pg_temp.r(g, 42, 1100) / 10.0, 1970 + pg_temp.r(g, 43, 50), size,
       lat + (pg_temp.r(g, 44, 40) - 20) / 10000.0, lon + (pg_temp.r(g, 45, 40) - 20) / 10000.0, NULL,
       NULL, CASE WHEN status <> 'DRAFT' THEN t_at + interval '1 hour' END,
       NULL, CASE WHEN status = 'APPROVED' THEN t_at + interval '26 hours' END, NULL,
       t_at, t_at + CASE status WHEN 'DRAFT' THEN interval '0' WHEN 'SUBMITTED' THEN interval '1 hour' ELSE interval '26 hours' END
FROM (
  SELECT h.*, CASE WHEN pg_temp.r(g, 46, 100) < 50 THEN 'APPROVED'
                   WHEN pg_temp.r(g, 46, 100) < 85 THEN 'SUBMITTED' ELSE 'DRAFT' END AS status,
         timestamptz '2020-05-15 08:00:00+08' + pg_temp.r(g, 47, 4 * 24 * 60) * interval '1 minute' AS t_at
  FROM gen_household h
  WHERE pg_temp.r(g, 39, 100) < :verified_pct
) v;

-- ---------------------------------------------------------------------------
\echo '== restoring indexes and keys'
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM national_gen.saved_indexes ORDER BY tbl, name LOOP
    RAISE NOTICE '%', r.name;
    EXECUTE r.def;
  END LOOP;
  FOR r IN SELECT * FROM national_gen.saved_constraints WHERE contype <> 'f' ORDER BY tbl, name LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tbl, r.name, r.def);
  END LOOP;
END $$;

-- ---------------------------------------------------------------------------
\echo '== region counters (what the recount stores: per village, township, county, then every county''s ancestors as sums)'
CREATE TEMP TABLE gen_hc AS
SELECT h.county_id, h.township_id, h.village_id, m.metric, count(*)::bigint AS n
FROM households h
LEFT JOIN verifications v ON v.household_id = h.id AND v.campaign_id = h.campaign_id AND NOT v.practice
CROSS JOIN LATERAL (VALUES ('households'), ('status:' || coalesce(v.status, 'NOT_STARTED')),
                           ('path:' || v.path), ('expected:' || h.expected_path)) m(metric)
WHERE h.campaign_id = :'campaign_id' AND m.metric IS NOT NULL
GROUP BY 1, 2, 3, 4;
-- Open findings (none in this data set) counted as the recount does.
INSERT INTO gen_hc
SELECT h.county_id, h.township_id, h.village_id,
       CASE WHEN f.severity = 'ERROR' THEN 'errors' ELSE 'warnings' END, count(*)
FROM findings f JOIN households h ON h.id = f.household_id
WHERE f.campaign_id = :'campaign_id' AND NOT f.practice AND f.open
GROUP BY 1, 2, 3, 4;

ANALYZE gen_hc;

CREATE TEMP TABLE gen_counter AS
SELECT village_id AS region_id, metric, sum(n)::bigint AS n FROM gen_hc WHERE village_id IS NOT NULL GROUP BY 1, 2
UNION ALL
SELECT township_id, metric, sum(n)::bigint FROM gen_hc GROUP BY 1, 2
UNION ALL
SELECT county_id, metric, sum(n)::bigint FROM gen_hc GROUP BY 1, 2;
-- Above the counties: every region whose path is a proper prefix of a joined
-- county's path (the app's ancestor_paths) gets the sum of those counties.
CREATE TEMP TABLE gen_upper AS SELECT id, path FROM regions WHERE level IN ('NATION', 'PROVINCE', 'CITY');
CREATE TEMP TABLE gen_joined AS
SELECT r.id, r.path FROM regions r JOIN campaign_counties cc ON cc.county_id = r.id AND cc.campaign_id = :'campaign_id'
WHERE r.level = 'COUNTY';
CREATE TEMP TABLE gen_above AS
SELECT c.id AS county_id, u.id AS region_id
FROM gen_joined c JOIN gen_upper u ON length(u.path) < length(c.path) AND left(c.path, length(u.path)) = u.path;
ANALYZE gen_counter, gen_above;
INSERT INTO gen_counter
SELECT ab.region_id, c.metric, sum(c.n)::bigint
FROM gen_counter c JOIN gen_above ab ON ab.county_id = c.region_id
GROUP BY 1, 2;

INSERT INTO region_counters (campaign_id, region_id, metric, n)
SELECT :'campaign_id', region_id, metric, n FROM gen_counter WHERE n <> 0 ORDER BY region_id, metric;

\echo '== restoring foreign keys'
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM national_gen.saved_constraints WHERE contype = 'f' ORDER BY tbl, name LOOP
    RAISE NOTICE '%', r.name;
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tbl, r.name, r.def);
  END LOOP;
END $$;

\echo '== the catalogue is as the migrations left it (differences listed; none expected)'
SELECT count(*) = 0 AS same FROM (
  (SELECT * FROM national_gen.before EXCEPT SELECT * FROM national_gen.catalogue)
  UNION ALL
  (SELECT * FROM national_gen.catalogue EXCEPT SELECT * FROM national_gen.before)) d \gset
(SELECT 'missing' AS diff, * FROM national_gen.before EXCEPT SELECT 'missing', * FROM national_gen.catalogue)
UNION ALL
(SELECT 'extra', * FROM national_gen.catalogue EXCEPT SELECT 'extra', * FROM national_gen.before);
SELECT pg_temp.assert(:'same'::boolean, 'indexes or constraints differ from the migrations (listed above; national_gen kept)');
DROP SCHEMA national_gen CASCADE;

-- ---------------------------------------------------------------------------
\echo '== accounts (one password hash for all, as the demo does)'
-- The bench county: the county of 河北省 (13) closest in size to the
-- national median; its first village with at least 10 unverified households
-- gets the verifier; two more verifiers, in villages of 四川省 (51) and
-- 广东省 (44), save while the bench county imports.
CREATE TEMP TABLE gen_pick AS
WITH county_size AS (
  SELECT c.id, c.code, k.n FROM regions c
  JOIN region_counters k ON k.campaign_id = :'campaign_id' AND k.region_id = c.id AND k.metric = 'households'
  WHERE c.level = 'COUNTY'
), med AS (
  SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS m FROM county_size
)
SELECT s.id AS county_id, s.code AS county_code FROM county_size s, med
WHERE s.code LIKE '13%' ORDER BY abs(s.n - med.m), s.code LIMIT 1;

CREATE TEMP TABLE gen_verifier_county AS
SELECT 'bench' AS tag, county_id FROM gen_pick
UNION ALL
SELECT left(code, 2), id FROM regions WHERE level = 'COUNTY' AND code IN (
  (SELECT min(code) FROM regions WHERE level = 'COUNTY' AND code LIKE '51%'),
  (SELECT min(code) FROM regions WHERE level = 'COUNTY' AND code LIKE '44%'));
CREATE TEMP TABLE gen_verifier_village AS
SELECT DISTINCT ON (tag) tag, village_id FROM (
  SELECT gc.tag, h.village_id, r.code, count(*) FILTER (WHERE v.id IS NULL) AS open
  FROM gen_verifier_county gc
  JOIN households h ON h.campaign_id = :'campaign_id' AND h.county_id = gc.county_id
  JOIN regions r ON r.id = h.village_id
  LEFT JOIN verifications v ON v.household_id = h.id AND v.campaign_id = h.campaign_id AND NOT v.practice
  GROUP BY 1, 2, 3
) x WHERE open >= 10 ORDER BY tag, code;

INSERT INTO accounts (id, username, display_name, phone, role, region_id, password_hash, must_change_password,
                      disabled, password_changed_at, last_sign_in_at, session_epoch, created_at, updated_at)
SELECT md5('hsv-account-' || username)::uuid, username, display_name, NULL, role, region_id, :'password_hash',
       false, false, NULL, NULL, 0, :'t0', :'t0'
FROM (
  SELECT 'national_supervisor' AS username, '国务院扶贫开发领导小组' AS display_name, 'SUPERVISOR' AS role,
         md5('hsv-region-000000000000')::uuid AS region_id
  UNION ALL SELECT 'province_supervisor', '河北省扶贫开发领导小组', 'SUPERVISOR', md5('hsv-region-130000000000')::uuid
  UNION ALL SELECT 'county_admin', r.name || '住建局业务专班', 'ADMIN', r.id FROM regions r JOIN gen_pick p ON p.county_id = r.id
  UNION ALL SELECT 'county_supervisor', r.name || '扶贫开发领导小组', 'SUPERVISOR', r.id FROM regions r JOIN gen_pick p ON p.county_id = r.id
  UNION ALL SELECT 'v' || r.code, r.name || '核验人', 'VERIFIER', r.id
    FROM gen_verifier_village g JOIN regions r ON r.id = g.village_id
) a;
SELECT a.username, a.role, r.level, r.code, r.name FROM accounts a JOIN regions r ON r.id = a.region_id ORDER BY r.path, a.username;

-- ---------------------------------------------------------------------------
\echo '== statistics and visibility map (autovacuum may be off on this server)'
VACUUM (ANALYZE) regions, households, reference_records, verifications, region_counters, campaign_counties, accounts, milestones, campaigns;

SELECT (SELECT count(*) FROM regions) AS regions, (SELECT count(*) FROM households) AS households,
       (SELECT count(*) FROM reference_records) AS reference_records,
       (SELECT count(*) FROM verifications) AS verifications,
       (SELECT count(*) FROM region_counters) AS region_counters;
SELECT pg_size_pretty(pg_database_size(current_database())) AS database_size;
