-- (the application's own functions and operators are never found: its role owns schema public)
SET search_path = pg_catalog, pg_temp;
SELECT format('SELECT ''@@counts'', count(*), coalesce(sum(n), 0), coalesce(json_object_agg(t, n ORDER BY t), ''{}'') FROM (%s) s',
       coalesce(string_agg(format('SELECT %L::text AS t, count(*) AS n FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname), ' UNION ALL '),
                'SELECT NULL::text AS t, 0::bigint AS n WHERE false'))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \gexec
