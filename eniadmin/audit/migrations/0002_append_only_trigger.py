"""On PostgreSQL, make the database itself refuse changes to audit events.

The trigger rejects every UPDATE and DELETE on the table, with two exceptions:
- DELETE while the transaction-local setting `eniadmin.audit_purge` is 'on', which only
  `purge_audit` sets (with SET LOCAL, so it ends with its transaction);
- an UPDATE that only clears actor_id or on_behalf_of_id, which is how ON DELETE SET NULL keeps
  the history of a deleted user (the hashed name copies stay unchanged).
SQLite has no such trigger; there, verify_audit detects changes after the fact.
"""

from django.db import migrations

CREATE_TRIGGER = """
CREATE FUNCTION audit_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('eniadmin.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: DELETE refused (purge_audit removes old events)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'actor_id' - 'on_behalf_of_id')
            = (to_jsonb(OLD) - 'actor_id' - 'on_behalf_of_id')
        AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)
        AND (NEW.on_behalf_of_id IS NULL OR NEW.on_behalf_of_id = OLD.on_behalf_of_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: UPDATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
