-- One role and one database per service (docker-compose.yml runs this once, on an empty volume).
-- Each role owns only its own database and is no superuser; no other role may connect to it.
-- Passwords come from the server's environment (<SERVICE>_DB_PASSWORD).
\set ON_ERROR_STOP on

\getenv profile_password PROFILE_DB_PASSWORD
\getenv notes_password NOTES_DB_PASSWORD
\getenv timeline_password TIMELINE_DB_PASSWORD
\getenv insights_password INSIGHTS_DB_PASSWORD

-- Every password before anything is created: the image runs this script on the first start only.
\if :{?profile_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'PROFILE_DB_PASSWORD is not set'; END $$;
\endif
\if :{?notes_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'NOTES_DB_PASSWORD is not set'; END $$;
\endif
\if :{?timeline_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'TIMELINE_DB_PASSWORD is not set'; END $$;
\endif
\if :{?insights_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'INSIGHTS_DB_PASSWORD is not set'; END $$;
\endif

CREATE ROLE profile LOGIN PASSWORD :'profile_password';
CREATE DATABASE profile OWNER profile;
REVOKE ALL ON DATABASE profile FROM PUBLIC;

CREATE ROLE notes LOGIN PASSWORD :'notes_password';
CREATE DATABASE notes OWNER notes;
REVOKE ALL ON DATABASE notes FROM PUBLIC;

CREATE ROLE timeline LOGIN PASSWORD :'timeline_password';
CREATE DATABASE timeline OWNER timeline;
REVOKE ALL ON DATABASE timeline FROM PUBLIC;

CREATE ROLE insights LOGIN PASSWORD :'insights_password';
CREATE DATABASE insights OWNER insights;
REVOKE ALL ON DATABASE insights FROM PUBLIC;
