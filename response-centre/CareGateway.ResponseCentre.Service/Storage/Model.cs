using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>Where an alarm at the centre comes from.</summary>
public enum AlarmOrigin
{
    /// <summary>Sent by a gateway; acknowledgements go back to it.</summary>
    Gateway = 1,

    /// <summary>Raised by the centre itself about a gateway (offline, silent, missing sequence numbers).</summary>
    Centre = 2,
}

/// <summary>The centre's handling of an alarm, in order; it only moves forward.</summary>
public enum HandlingStatus
{
    Received = 1,
    Accepted = 2,
    Closed = 3,
}

/// <summary>Alarm types the centre raises itself about a gateway's health (not on the wire).</summary>
public static class CentreAlarmType
{
    /// <summary>The gateway's status went offline (its last will, or a clean stop).</summary>
    public const string GatewayOffline = "gateway-offline";

    /// <summary>No heartbeat for about three intervals while the gateway was thought online.</summary>
    public const string HeartbeatMissing = "heartbeat-missing";

    /// <summary>The gateway reports sequence numbers the centre never received, with nothing pending.</summary>
    public const string SequenceGap = "sequence-gap";

    /// <summary>
    /// The gateway sent more alarms than its intake limits allow (rate or open alarms); the rest wait in the gateway.
    /// </summary>
    public const string AlarmFlood = "alarm-flood";

    /// <summary>The gateway's periodic test alarm is overdue (<c>Centre:TestAlarmOverdueHours</c>): the path from the home may be broken.</summary>
    public const string TestAlarmMissing = "test-alarm-missing";

    public static IReadOnlyList<string> All { get; } = [GatewayOffline, HeartbeatMissing, SequenceGap, AlarmFlood, TestAlarmMissing];
}

/// <summary>Close outcomes an operator can record (for the quality figures).</summary>
public static class CloseOutcome
{
    public const string Handled = "handled";
    public const string FalseAlarm = "false-alarm";
    public const string Technical = "technical";

    public static IReadOnlyList<string> All { get; } = [Handled, FalseAlarm, Technical];

    public static bool IsValid(string? value) => value is null || All.Contains(value, StringComparer.Ordinal);
}

/// <summary>
/// An alarm as the centre stores it, keyed by gateway and id (<see cref="Key"/>): a gateway's ids are its own, so one
/// gateway can never pre-empt or silence another home's alarm by sending its id first (issue 19).
/// </summary>
public sealed record StoredAlarm
{
    /// <summary>A gateway's alarm: the UUIDv7 it gave; the centre's own: a random UUIDv4 (never valid from a gateway).</summary>
    public required string AlarmId { get; init; }
    public required string GatewayId { get; init; }
    public required AlarmOrigin Origin { get; init; }

    /// <summary>What raised a technical alarm (for example <c>gateway-offline-{since}</c>): the centre stores one per cause and gateway, also with several instances. Null for a gateway's alarm.</summary>
    public string? Cause { get; init; }

    public AlarmKey Key => new(GatewayId, AlarmId);

    /// <summary>The gateway's sequence number (0 for alarms the centre raised itself).</summary>
    public long Seq { get; init; }

    public required string Type { get; init; }
    public required AlarmPriority Priority { get; init; }
    public required string VkpCode { get; init; }
    public required string Triage { get; init; }
    public required AlarmState State { get; init; }
    public string? SensorId { get; init; }
    public string? Room { get; init; }
    public required string Reason { get; init; }
    public required DateTimeOffset RaisedAt { get; init; }

    /// <summary>When the centre stored it (the first copy).</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>How many copies arrived (1 + re-sends and redeliveries).</summary>
    public int Copies { get; init; } = 1;

    /// <summary>How many times the resident's call came again while the alarm was open (another press, fall, smoke, water).</summary>
    public int Repeats { get; init; }

    /// <summary>When the latest repeat happened (the gateway's time).</summary>
    public DateTimeOffset? RepeatedAt { get; init; }

    /// <summary>When the alarm passed its priority's time to be accepted and went to the second tier; null if it did not.</summary>
    public DateTimeOffset? EscalatedAt { get; init; }

    public HandlingStatus Status { get; init; } = HandlingStatus.Received;
    public DateTimeOffset? AcceptedAt { get; init; }
    public string? AcceptedBy { get; init; }
    public DateTimeOffset? ClosedAt { get; init; }
    public string? ClosedBy { get; init; }

    /// <summary>The operator's note at closing; kept at the centre (it may hold health details), never sent to the home.</summary>
    public string? Note { get; init; }

    /// <summary>One of <see cref="CloseOutcome"/>, set at closing.</summary>
    public string? Outcome { get; init; }

    /// <summary>A technical fault (the centre's own alarm, or a gateway's technical type) rather than a call about the resident.</summary>
    public bool IsTechnical => Origin == AlarmOrigin.Centre || (AlarmCatalog.IsKnown(Type) && AlarmCatalog.Get(Type).Technical);

    /// <summary>An open alarm belongs in the operator's queue: not closed, and not cancelled by the resident.</summary>
    public bool IsOpen => Status != HandlingStatus.Closed && State == AlarmState.Raised;

    public static StoredAlarm FromMessage(AlarmMessage m, DateTimeOffset receivedAt) => new()
    {
        AlarmId = m.AlarmId,
        GatewayId = m.GatewayId,
        Origin = AlarmOrigin.Gateway,
        Seq = m.Seq,
        Type = m.Type,
        Priority = m.Priority,

        // The VKP code follows from the type (the catalogue), never from what the gateway wrote (issue 19 finding 13).
        VkpCode = AlarmCatalog.Get(m.Type).VkpCode,
        Triage = m.Triage,
        State = m.State,
        SensorId = m.SensorId,
        Room = m.Room,
        Reason = m.Reason,
        RaisedAt = m.RaisedAt,
        ReceivedAt = receivedAt,
        Repeats = m.Repeats ?? 0,
        RepeatedAt = m.RepeatedAt,
    };
}

/// <summary>Which alarm: a gateway and its id (ids are unique per gateway only).</summary>
public readonly record struct AlarmKey(string GatewayId, string AlarmId)
{
    public override string ToString() => $"{AlarmId} of {GatewayId}";
}

/// <summary>An acknowledgement the centre sent (or must still send) to a gateway.</summary>
public sealed record AckRecord
{
    public required string AckId { get; init; }
    public required string AlarmId { get; init; }
    public required string GatewayId { get; init; }
    public required AckState State { get; init; }
    public required string By { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>When the broker took it; null while it still has to go out (the broker was unreachable).</summary>
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>With <c>received</c>: the repeats of the alarm the centre had stored when it answered.</summary>
    public int Repeats { get; init; }
}

/// <summary>What the centre knows about one gateway (one home).</summary>
public sealed record GatewayRecord
{
    public required string GatewayId { get; init; }

    /// <summary>A label for the home chosen at the centre (for example a customer number); never sent by the gateway.</summary>
    public string? Label { get; init; }

    /// <summary>Home group (district, service area) for the figures.</summary>
    public string? HomeGroup { get; init; }

    public GatewayState? State { get; init; }
    public DateTimeOffset? StateSince { get; init; }
    public string? SoftwareVersion { get; init; }
    public DateTimeOffset? LastHeartbeatAt { get; init; }
    public int? IntervalSeconds { get; init; }
    public int? PendingAlarms { get; init; }
    public long? LastSeq { get; init; }

    /// <summary>Heartbeats stopped while the gateway was online.</summary>
    public bool Silent { get; init; }

    /// <summary>Sequence numbers up to this one predate the centre's knowledge of the gateway.</summary>
    public long SeqBaseline { get; init; }

    /// <summary>The highest <c>lastSeq</c> for which a gap was already reported.</summary>
    public long GapReportedUpTo { get; init; }

    public bool Reachable => State == GatewayState.Online && !Silent;
}

/// <summary>A change in a gateway's reachability, for availability figures.</summary>
public sealed record GatewayEvent(string GatewayId, DateTimeOffset At, bool Available);

/// <summary>One line of the audit log: who did what, when, from where, and how it ended. Never changed once written.</summary>
public sealed record AuditEntry
{
    public required string AuditId { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>The user name (for a failed login: the name it was tried for), or "(command line)".</summary>
    public required string Actor { get; init; }

    /// <summary>What was done: "POST /alarms/{gateway}/{id}/accept", "GET /export/fhir", "add-user".</summary>
    public required string Action { get; init; }

    /// <summary>What it was done to: route values and the query (a date range), shortened.</summary>
    public string? Target { get; init; }

    /// <summary>"ok" or "refused (401 ...)".</summary>
    public required string Outcome { get; init; }

    /// <summary>The client's address (behind a trusted proxy: the one it forwarded).</summary>
    public string? Address { get; init; }
}

/// <summary>A gateway's latest test alarm (raised on the gateway, stored here), and since when the centre has known the gateway.</summary>
public sealed record TestAlarmSeen(string GatewayId, DateTimeOffset? LastRaisedAt, DateTimeOffset? LastReceivedAt, DateTimeOffset? KnownSince)
{
    /// <summary>How long the latest test alarm took from the home to the centre's store.</summary>
    public TimeSpan? Took => LastReceivedAt - LastRaisedAt;
}

/// <summary>A sensor whose latest technical alarm is not closed yet.</summary>
public sealed record SensorProblem(string GatewayId, string SensorId, string? Room, string Problem, DateTimeOffset Since, string AlarmId);

/// <summary>An operator account.</summary>
public sealed record CentreUser
{
    public required string UserName { get; init; }

    /// <summary>The id that goes on the wire as <c>by</c> (never the person's name).</summary>
    public required string OperatorId { get; init; }

    public required string PasswordHash { get; init; }

    /// <summary><c>operator</c> or <c>admin</c>.</summary>
    public required string Role { get; init; }

    /// <summary>Random; a session cookie carries the stamp it was issued with and is valid only while the two match.</summary>
    public string SecurityStamp { get; init; } = "";

    /// <summary>The TOTP secret (Base32) once a second factor is enrolled; null before.</summary>
    public string? TotpSecret { get; init; }

    /// <summary>The last TOTP time step accepted, so one code cannot log in twice.</summary>
    public long TotpLastStep { get; init; }

    /// <summary>A fresh random stamp.</summary>
    public static string NewStamp() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}

public static class Roles
{
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>The second tier: alerted for every alarm not accepted in its time (an admin is one too).</summary>
    public const string Supervisor = "supervisor";

    public static IReadOnlyList<string> All { get; } = [Operator, Supervisor, Admin];

    public static bool IsValid(string role) => role is Operator or Supervisor or Admin;

    /// <summary>Whether this role is told of escalated alarms.</summary>
    public static bool IsSecondTier(string? role) => role is Supervisor or Admin;
}

/// <summary>What a step of an alarm's handling is (issue 18): the operator's calls and dispatch, then the team's steps.</summary>
public static class HandlingKind
{
    /// <summary>The operator called someone (the resident, a relative, a neighbour).</summary>
    public const string Call = "call";

    /// <summary>The operator sent a home-care team (or one staff member) with a link to the mobile page.</summary>
    public const string Dispatch = "dispatch";

    /// <summary>The team is on its way (marked on the mobile page).</summary>
    public const string OnTheWay = "on-the-way";

    /// <summary>The team is in the home: the presence registration.</summary>
    public const string Arrived = "arrived";

    /// <summary>The team has finished in the home.</summary>
    public const string Done = "done";

    public static IReadOnlyList<string> All { get; } = [Call, Dispatch, OnTheWay, Arrived, Done];

    /// <summary>The steps a team marks, in their order.</summary>
    public static IReadOnlyList<string> TeamSteps { get; } = [OnTheWay, Arrived, Done];
}

/// <summary>How a call went.</summary>
public static class CallOutcome
{
    public const string Reached = "reached";
    public const string NoAnswer = "no-answer";
    public const string Busy = "busy";

    public static IReadOnlyList<string> All { get; } = [Reached, NoAnswer, Busy];

    public static bool IsValid(string? value) => value is not null && All.Contains(value, StringComparer.Ordinal);
}

/// <summary>One step of an alarm's handling between accept and close; written once, never changed.</summary>
public sealed record HandlingStep
{
    public required string StepId { get; init; }
    public required string GatewayId { get; init; }
    public required string AlarmId { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>The operator id (a call, a dispatch) or the team's name (its own steps).</summary>
    public required string By { get; init; }

    /// <summary>One of <see cref="HandlingKind"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>A call: whom the operator called; a dispatch: the team sent.</summary>
    public string? ToWhom { get; init; }

    /// <summary>A call: one of <see cref="CallOutcome"/>.</summary>
    public string? Outcome { get; init; }

    /// <summary>The operator's free text (may hold health details: kept at the centre, cleared with the notes).</summary>
    public string? Text { get; init; }

    /// <summary>The dispatch a team's step belongs to (and a dispatch step's own).</summary>
    public string? DispatchId { get; init; }

    public AlarmKey Key => new(GatewayId, AlarmId);

    public static string NewId() => Guid.CreateVersion7().ToString();
}

/// <summary>
/// A home-care team sent to an alarm, with the link it works from. The link's token is random and given out once; the
/// centre keeps only its SHA-256 (<see cref="TokenHash"/>). The link works until the alarm is closed
/// (<see cref="EndedAt"/>) or <see cref="ExpiresAt"/>, whichever comes first.
/// </summary>
public sealed record DispatchRecord
{
    public required string DispatchId { get; init; }
    public required string GatewayId { get; init; }
    public required string AlarmId { get; init; }

    /// <summary>The team or staff member as the operator named it.</summary>
    public required string Team { get; init; }

    public required string TokenHash { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string CreatedBy { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>When the link stopped working because the alarm was closed; null while it works.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public AlarmKey Key => new(GatewayId, AlarmId);

    public bool IsValidAt(DateTimeOffset now) => EndedAt is null && now < ExpiresAt;

    /// <summary>A new random token for a link (256 bits, URL-safe Base64).</summary>
    public static string NewToken() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>What the store keeps of a token: its SHA-256, hex.</summary>
    public static string HashToken(string token) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
}

/// <summary>A page of the queue: its rows and the number of open alarms in all.</summary>
public sealed record OpenAlarmsPage(IReadOnlyList<StoredAlarm> Rows, int Total);

/// <summary>What retention removes: data older than each cutoff (null keeps that kind for ever).</summary>
public sealed record RetentionCutoffs(DateTimeOffset? AlarmsClosedBefore, DateTimeOffset? NotesClosedBefore, DateTimeOffset? AuditBefore);

/// <summary>What one retention pass removed.</summary>
public sealed record RetentionOutcome(int AlarmsDeleted, int NotesCleared, int AuditDeleted)
{
    public bool Any => AlarmsDeleted + NotesCleared + AuditDeleted > 0;
}

/// <summary>A home's resident record as the database holds it: encrypted, with who changed it last and when.</summary>
public sealed record SealedHomeRecord(string GatewayId, string Sealed, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>
/// A command sent to a gateway from the console and, once it came, its result. <see cref="Payload"/> is the command as
/// sent (re-sent unchanged); <see cref="Result"/> the result message as received (for a preview's alarms and diagnostics).
/// </summary>
public sealed record GatewayCommandRecord
{
    public required string CommandId { get; init; }
    public required string GatewayId { get; init; }
    public required string Command { get; init; }
    public required string By { get; init; }
    public required string Payload { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public int Attempts { get; init; }

    /// <summary><c>ok</c>, <c>rejected</c>, <c>failed</c>, or <c>expired</c> (no answer in time); null while waiting.</summary>
    public string? Status { get; init; }
    public string? Reason { get; init; }
    public DateTimeOffset? ResultAt { get; init; }
    public string? Result { get; init; }
}
