-- What the extension consists of in the current database, one line per
-- fact, with no OIDs: test/upgrade.sh compares this output between a fresh
-- install of the default version and each older version after ALTER
-- EXTENSION ... UPDATE.  Every object a script can create that a user can
-- see is listed here; extend it when a script starts creating a new kind.
WITH ext AS (
  SELECT e.oid, e.extnamespace FROM pg_extension e WHERE e.extname = 'contact_list_fdw'
), member AS (
  SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), facts(fact) AS (
  SELECT format('extension: version %s, schema %s, relocatable %s, config %s %s',
                e.extversion, e.extnamespace::regnamespace, e.extrelocatable,
                e.extconfig::regclass[], e.extcondition)
    FROM pg_extension e, ext WHERE e.oid = ext.oid
  UNION ALL
  -- members, and the comment of each
  SELECT format('member: %s; comment %L', pg_describe_object(m.classid, m.objid, m.objsubid), ds.description)
    FROM member m
    LEFT JOIN pg_description ds
      ON ds.classoid = m.classid AND ds.objoid = m.objid AND ds.objsubid = m.objsubid
  UNION ALL
  -- the privileges the scripts granted (pg_dump restores these from here)
  SELECT format('initial privileges: %s: %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.initprivs)
    FROM pg_init_privs ip JOIN member m
      ON ip.classoid = m.classid AND ip.objoid = m.objid AND ip.objsubid = m.objsubid
  UNION ALL
  -- every function in the extension's schema, member or not: its whole signature
  SELECT format('function %s(%s): member %s, returns %s, kind %s, language %s, volatility %s, '
                'strict %s, parallel %s, security definer %s, leakproof %s, cost %s, rows %s, '
                'settings %s, symbol %s, library %s, owner %s, acl %s',
                p.proname, pg_get_function_arguments(p.oid), m.objid IS NOT NULL,
                pg_get_function_result(p.oid), p.prokind, l.lanname, p.provolatile,
                p.proisstrict, p.proparallel, p.prosecdef, p.proleakproof, p.procost, p.prorows,
                p.proconfig, p.prosrc, p.probin, p.proowner::regrole, p.proacl)
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    CROSS JOIN ext
    LEFT JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
   WHERE p.pronamespace = ext.extnamespace OR m.objid IS NOT NULL
  UNION ALL
  -- every relation (table, view, sequence, ...) and type in the schema
  SELECT format('relation %s: member %s, kind %s, acl %s, options %s, definition %s, columns %s',
                c.oid::regclass, m.objid IS NOT NULL, c.relkind, c.relacl, c.reloptions,
                CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
                (SELECT string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                          CASE WHEN a.attnotnull THEN ' not null' END,
                                          ' default ' || pg_get_expr(ad.adbin, ad.adrelid)), ', ' ORDER BY a.attnum)
                   FROM pg_attribute a
                   LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
    FROM pg_class c CROSS JOIN ext
    LEFT JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
   WHERE c.relnamespace = ext.extnamespace OR m.objid IS NOT NULL
  UNION ALL
  SELECT format('type %s: member %s, kind %s, acl %s', format_type(t.oid, NULL), m.objid IS NOT NULL, t.typtype, t.typacl)
    FROM pg_type t CROSS JOIN ext
    LEFT JOIN member m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
   WHERE (t.typnamespace = ext.extnamespace OR m.objid IS NOT NULL)
     AND t.typtype <> 'c' AND t.typelem = 0   -- row and array types come with their relation or type
  UNION ALL
  SELECT format('foreign-data wrapper %s: member %s, handler %s, validator %s, owner %s, acl %s, options %s',
                w.fdwname, m.objid IS NOT NULL, w.fdwhandler::regproc, w.fdwvalidator::regproc,
                w.fdwowner::regrole, w.fdwacl, w.fdwoptions)
    FROM pg_foreign_data_wrapper w
    LEFT JOIN member m ON m.classid = 'pg_foreign_data_wrapper'::regclass AND m.objid = w.oid
  UNION ALL
  SELECT format('foreign server %s: member %s', s.srvname, m.objid IS NOT NULL)
    FROM pg_foreign_server s
    LEFT JOIN member m ON m.classid = 'pg_foreign_server'::regclass AND m.objid = s.oid
)
SELECT fact FROM facts ORDER BY fact COLLATE "C";
