namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// The schema, as numbered migrations applied once and in order. The SQL is the common subset of SQLite and
/// PostgreSQL (BIGINT times in Unix milliseconds, INTEGER flags, TEXT), so one list serves both stores.
/// Never edit a migration that has shipped: add the next one.
/// </summary>
public static class Migrations
{
    public static IReadOnlyList<(int Version, string Name, string[] Statements)> All { get; } =
    [
        (1, "alarms, acknowledgements, gateways, users", [
            """
            CREATE TABLE alarm (
              alarm_id TEXT PRIMARY KEY,
              gateway_id TEXT NOT NULL,
              origin INTEGER NOT NULL,
              seq BIGINT NOT NULL,
              type TEXT NOT NULL,
              priority INTEGER NOT NULL,
              vkp_code TEXT NOT NULL,
              triage TEXT NOT NULL,
              state TEXT NOT NULL,
              sensor_id TEXT,
              room TEXT,
              reason TEXT NOT NULL,
              raised_at BIGINT NOT NULL,
              received_at BIGINT NOT NULL,
              copies INTEGER NOT NULL,
              status INTEGER NOT NULL,
              accepted_at BIGINT,
              accepted_by TEXT,
              closed_at BIGINT,
              closed_by TEXT,
              note TEXT,
              outcome TEXT
            )
            """,
            "CREATE INDEX alarm_open ON alarm (status, priority, raised_at)",
            "CREATE INDEX alarm_raised ON alarm (raised_at)",
            "CREATE INDEX alarm_gateway_seq ON alarm (gateway_id, seq)",
            """
            CREATE TABLE ack (
              ack_id TEXT PRIMARY KEY,
              alarm_id TEXT NOT NULL,
              gateway_id TEXT NOT NULL,
              state INTEGER NOT NULL,
              by_id TEXT NOT NULL,
              at BIGINT NOT NULL,
              sent_at BIGINT
            )
            """,
            "CREATE INDEX ack_alarm ON ack (alarm_id)",
            "CREATE INDEX ack_unsent ON ack (sent_at, at)",
            """
            CREATE TABLE gateway (
              gateway_id TEXT PRIMARY KEY,
              label TEXT,
              home_group TEXT,
              state TEXT,
              state_since BIGINT,
              software_version TEXT,
              last_heartbeat_at BIGINT,
              interval_seconds INTEGER,
              pending_alarms INTEGER,
              last_seq BIGINT,
              silent INTEGER NOT NULL DEFAULT 0,
              seq_baseline BIGINT NOT NULL DEFAULT 0,
              gap_reported_up_to BIGINT NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE gateway_event (
              gateway_id TEXT NOT NULL,
              at BIGINT NOT NULL,
              available INTEGER NOT NULL
            )
            """,
            "CREATE INDEX gateway_event_at ON gateway_event (at)",
            """
            CREATE TABLE sensor (
              gateway_id TEXT NOT NULL,
              sensor_id TEXT NOT NULL,
              room TEXT,
              problem TEXT NOT NULL,
              since BIGINT NOT NULL,
              alarm_id TEXT NOT NULL,
              PRIMARY KEY (gateway_id, sensor_id)
            )
            """,
            """
            CREATE TABLE centre_user (
              user_name TEXT PRIMARY KEY,
              operator_id TEXT NOT NULL,
              password_hash TEXT NOT NULL,
              role TEXT NOT NULL
            )
            """,
        ]),
        (2, "alarms keyed by gateway and id; technical alarms deduplicated by their cause", [
            // Issue 19 finding 1: an alarm id was global, so one gateway could pre-empt another home's alarm by
            // publishing its id first. Now (gateway_id, alarm_id) is the key; the centre's own alarms carry random ids
            // and are deduplicated by 'cause' (what raised them), which no gateway can set. SQLite cannot change a
            // primary key in place: the table is copied.
            """
            CREATE TABLE alarm_v2 (
              alarm_id TEXT NOT NULL,
              gateway_id TEXT NOT NULL,
              origin INTEGER NOT NULL,
              seq BIGINT NOT NULL,
              type TEXT NOT NULL,
              priority INTEGER NOT NULL,
              vkp_code TEXT NOT NULL,
              triage TEXT NOT NULL,
              state TEXT NOT NULL,
              sensor_id TEXT,
              room TEXT,
              reason TEXT NOT NULL,
              raised_at BIGINT NOT NULL,
              received_at BIGINT NOT NULL,
              copies INTEGER NOT NULL,
              status INTEGER NOT NULL,
              accepted_at BIGINT,
              accepted_by TEXT,
              closed_at BIGINT,
              closed_by TEXT,
              note TEXT,
              outcome TEXT,
              cause TEXT,
              PRIMARY KEY (gateway_id, alarm_id)
            )
            """,
            // Technical alarms of version 1 had ids 'centre-{gateway}-{type}-{cause}': their cause is what follows the gateway.
            """
            INSERT INTO alarm_v2 (alarm_id, gateway_id, origin, seq, type, priority, vkp_code, triage, state, sensor_id, room, reason,
              raised_at, received_at, copies, status, accepted_at, accepted_by, closed_at, closed_by, note, outcome, cause)
            SELECT alarm_id, gateway_id, origin, seq, type, priority, vkp_code, triage, state, sensor_id, room, reason,
              raised_at, received_at, copies, status, accepted_at, accepted_by, closed_at, closed_by, note, outcome,
              CASE WHEN origin = 2 THEN substr(alarm_id, length('centre-' || gateway_id || '-') + 1) END
            FROM alarm
            """,
            "DROP TABLE alarm",
            "ALTER TABLE alarm_v2 RENAME TO alarm",
            "CREATE INDEX alarm_open ON alarm (status, priority, raised_at)",
            "CREATE INDEX alarm_raised ON alarm (raised_at)",
            "CREATE INDEX alarm_gateway_seq ON alarm (gateway_id, seq)",
            "CREATE INDEX alarm_by_id ON alarm (alarm_id)",
            "CREATE UNIQUE INDEX alarm_cause ON alarm (gateway_id, cause)",
            "DROP INDEX ack_alarm",
            "CREATE INDEX ack_alarm ON ack (gateway_id, alarm_id)",
        ]),
        (3, "users: a security stamp that ends sessions, a second factor", [
            // Issue 19 findings 4 and 14: a session is valid only while its stamp matches the user's (a new stamp on
            // logout, password change and role change ends every session of that user); a TOTP secret with the last
            // time step used, so a code cannot be used twice.
            "ALTER TABLE centre_user ADD COLUMN security_stamp TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE centre_user ADD COLUMN totp_secret TEXT",
            "ALTER TABLE centre_user ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0",
        ]),
        (4, "repeats: the resident's call came again while its alarm was open", [
            // Issue 13: a press, fall, smoke or water event while its alarm is open reaches the centre as a repeat (a
            // count and the time of the latest); the 'received' answer says how many repeats the centre has.
            "ALTER TABLE alarm ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE alarm ADD COLUMN repeated_at BIGINT",
            "ALTER TABLE ack ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0",
        ]),
        (5, "escalation: when an alarm passed its time to be accepted", [
            // Issue 13: each priority has a time to be accepted; past it the alarm alerts again and goes to the second
            // tier (supervisors), once, and the figures count it.
            "ALTER TABLE alarm ADD COLUMN escalated_at BIGINT",
        ]),
        (6, "the test-alarm watch: each gateway's latest test alarm", [
            "CREATE INDEX alarm_type_gateway_received ON alarm (type, gateway_id, received_at)",
        ]),
        (7, "the audit log: append-only", [
            """
            CREATE TABLE audit (
              audit_id TEXT PRIMARY KEY,
              at BIGINT NOT NULL,
              actor TEXT NOT NULL,
              action TEXT NOT NULL,
              target TEXT,
              outcome TEXT NOT NULL,
              address TEXT
            )
            """,
            "CREATE INDEX audit_at ON audit (at)",
        ]),
        (8, "homes: the resident record, sealed", [
            // Issue 18: who lives in a home, its address, key-safe instructions, what to do and the contacts in order,
            // as one document encrypted by the service's Data Protection keys before it reaches the database (the
            // database never holds a name, a national identity number or a key-safe code in the clear).
            """
            CREATE TABLE home_record (
              gateway_id TEXT PRIMARY KEY,
              sealed TEXT NOT NULL,
              updated_at BIGINT NOT NULL,
              updated_by TEXT NOT NULL
            )
            """,
        ]),
        (9, "handling and dispatch: the operator's calls, the home-care team sent and its steps", [
            // Issue 18: between accept and close the operator logs calls and sends a home-care team; the team marks on
            // its way, arrived (presence) and done from a phone link. A step is never changed once written.
            """
            CREATE TABLE handling_step (
              step_id TEXT PRIMARY KEY,
              alarm_id TEXT NOT NULL,
              gateway_id TEXT NOT NULL,
              at BIGINT NOT NULL,
              by_id TEXT NOT NULL,
              kind TEXT NOT NULL,
              to_whom TEXT,
              outcome TEXT,
              text TEXT,
              dispatch_id TEXT
            )
            """,
            "CREATE INDEX handling_step_alarm ON handling_step (gateway_id, alarm_id, at)",
            // A team marks each of its steps once (a double tap on the phone stores one).
            "CREATE UNIQUE INDEX handling_step_once ON handling_step (dispatch_id, kind) WHERE dispatch_id IS NOT NULL",
            // The team's link: only the SHA-256 of its random token is kept; it ends when the alarm is closed or at expires_at.
            """
            CREATE TABLE dispatch (
              dispatch_id TEXT PRIMARY KEY,
              alarm_id TEXT NOT NULL,
              gateway_id TEXT NOT NULL,
              team TEXT NOT NULL,
              token_hash TEXT NOT NULL UNIQUE,
              created_at BIGINT NOT NULL,
              created_by TEXT NOT NULL,
              expires_at BIGINT NOT NULL,
              ended_at BIGINT
            )
            """,
            "CREATE INDEX dispatch_alarm ON dispatch (gateway_id, alarm_id)",
        ]),
        (10, "the VKP send queue: which closed alarms went to the municipality's FHIR endpoint", [
            // Issue 18 ("Add a sender"): one row per closed care alarm the sender tried or sent; an alarm without a row,
            // or with sent_at NULL and next_attempt_at passed, is still to be sent. attempts and last_error say why one
            // waits (shown in the log once per cause; kept here so an error is never lost).
            """
            CREATE TABLE vkp_send (
              gateway_id TEXT NOT NULL,
              alarm_id TEXT NOT NULL,
              sent_at BIGINT,
              attempts INTEGER NOT NULL DEFAULT 0,
              last_error TEXT,
              last_attempt_at BIGINT,
              next_attempt_at BIGINT,
              PRIMARY KEY (gateway_id, alarm_id)
            )
            """,
            "CREATE INDEX alarm_closed ON alarm (status, closed_at)",
        ]),
        (11, "commands to gateways: each with its result, kept in the record", [
            // Issue 18: test alarm, away/home, visitor, diagnostics, care-profile preview and replacement from the
            // console; sent again with the same id until the gateway answers (it runs each id once).
            """
            CREATE TABLE gateway_command (
              command_id TEXT PRIMARY KEY,
              gateway_id TEXT NOT NULL,
              command TEXT NOT NULL,
              by_id TEXT NOT NULL,
              payload TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              sent_at BIGINT,
              attempts INTEGER NOT NULL DEFAULT 0,
              status TEXT,
              reason TEXT,
              result_at BIGINT,
              result TEXT
            )
            """,
            "CREATE INDEX gateway_command_gateway ON gateway_command (gateway_id, created_at)",
            "CREATE INDEX gateway_command_open ON gateway_command (status, created_at)",
        ]),
        (12, "the Data Protection key ring in the database, shared by every instance", [
            // Issue 16: with Centre:DataProtection:KeyStore=database, instances on one database share the keys that
            // sign sessions and form tokens and seal the resident records (each key as the XML Data Protection writes,
            // encrypted with the configured certificate when there is one).
            """
            CREATE TABLE dataprotection_key (
              name TEXT PRIMARY KEY,
              xml TEXT NOT NULL,
              created_at BIGINT NOT NULL
            )
            """,
        ]),
    ];
}
