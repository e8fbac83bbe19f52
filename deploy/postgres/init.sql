-- One role and one database per service (docker-compose.yml runs this once, on an empty volume).
-- Each role owns only its own database and is no superuser; no other role may connect to it.
-- Passwords come from the server's environment (<SERVICE>_DB_PASSWORD).
\set ON_ERROR_STOP on

\getenv profile_password PROFILE_DB_PASSWORD
\getenv notes_password NOTES_DB_PASSWORD
\getenv timeline_password TIMELINE_DB_PASSWORD
\getenv insights_password INSIGHTS_DB_PASSWORD

-- Every password before anything is created: the image runs this script on the first start only.
SELECT set_config('init.missing', concat_ws(', ',
    CASE WHEN NOT :{?profile_password} THEN 'PROFILE_DB_PASSWORD' END,
    CASE WHEN NOT :{?notes_password} THEN 'NOTES_DB_PASSWORD' END,
    CASE WHEN NOT :{?timeline_password} THEN 'TIMELINE_DB_PASSWORD' END,
    CASE WHEN NOT :{?insights_password} THEN 'INSIGHTS_DB_PASSWORD' END), false);
DO $$ BEGIN
  IF current_setting('init.missing') <> '' THEN
    RAISE EXCEPTION '% not set', current_setting('init.missing');
  END IF;
END $$;

-- \gexec runs each cell as a statement of its own: CREATE DATABASE cannot run in a transaction.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', service, password),
       format('CREATE DATABASE %I OWNER %I', service, service),
       format('REVOKE ALL ON DATABASE %I FROM PUBLIC', service)
FROM (VALUES ('profile', :'profile_password'),
             ('notes', :'notes_password'),
             ('timeline', :'timeline_password'),
             ('insights', :'insights_password')) AS services (service, password)
\gexec
