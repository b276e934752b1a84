-- Every table's own rows, each row counted once: plain tables, partitions and inheritance children, each FROM ONLY
-- itself; a partitioned table holds no rows of its own and is not listed (its partitions are). Also printed, for a
-- backup counted before (every table with its children's rows, partitioned ones included): that total, and each
-- listed table's ancestors (`schema.table` names), from which its counts are rebuilt (src/backup/counts.ts).
-- (the application's own functions and operators are never found: its role owns schema public)
SET search_path = pg_catalog, pg_temp;
SELECT format('SELECT ''@@counts'', count(*), coalesce(sum(n), 0), coalesce(json_object_agg(t, n ORDER BY t), ''{}''), coalesce(sum(n * (1 + cardinality(a))), 0), coalesce(json_object_agg(t, a ORDER BY t) FILTER (WHERE cardinality(a) > 0), ''{}'') FROM (%s) s',
       coalesce(string_agg(format('SELECT %L::text AS t, count(*) AS n, %L::text[] AS a FROM ONLY %I.%I', n.nspname || '.' || c.relname, up.names, n.nspname, c.relname), ' UNION ALL '),
                'SELECT NULL::text AS t, 0::bigint AS n, NULL::text[] AS a WHERE false'))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (WITH RECURSIVE up(oid) AS (SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid
                                                UNION SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.oid)
                     SELECT coalesce(array_agg(pn.nspname || '.' || pc.relname ORDER BY pn.nspname, pc.relname), '{}')
                       FROM up JOIN pg_class pc ON pc.oid = up.oid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                      WHERE pc.relkind IN ('r', 'p')) up(names)
 WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \gexec
