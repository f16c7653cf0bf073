using System.Text.Json.Serialization;

namespace CareGateway.Protocol;

/// <summary>State of an alarm as the gateway reports it.</summary>
public enum AlarmState
{
    /// <summary>A call for help (or a technical fault) the centre must act on.</summary>
    [JsonStringEnumMemberName("raised")]
    Raised,

    /// <summary>The resident cancelled it locally within the pre-alarm window; reported so the figures stay true.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,
}

/// <summary>The centre's acknowledgement steps, in order.</summary>
public enum AckState
{
    /// <summary>The centre's system has stored the alarm. The gateway stops re-sending it.</summary>
    [JsonStringEnumMemberName("received")]
    Received = 1,

    /// <summary>An operator has taken the alarm.</summary>
    [JsonStringEnumMemberName("accepted")]
    Accepted = 2,

    /// <summary>The operator has finished with the alarm.</summary>
    [JsonStringEnumMemberName("closed")]
    Closed = 3,
}

public enum GatewayState
{
    [JsonStringEnumMemberName("online")]
    Online,

    [JsonStringEnumMemberName("offline")]
    Offline,
}

/// <summary>Gateway -> centre on <c>care/v1/{gatewayId}/alarm</c>. Schema: docs/schemas/alarm.schema.json.</summary>
public sealed record AlarmMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    /// <summary>Unique id (UUIDv7, time-ordered) assigned when the alarm is raised; the same on every re-send.</summary>
    public required string AlarmId { get; init; }

    public required string GatewayId { get; init; }

    /// <summary>Per-gateway sequence number, starting at 1 and never reused; a gap tells the centre something is missing.</summary>
    public required long Seq { get; init; }

    public required string Type { get; init; }

    public required AlarmPriority Priority { get; init; }

    /// <summary>VKP alert code (v0.9.0) for journaling without a translation table.</summary>
    public required string VkpCode { get; init; }

    /// <summary>VKP triage level: R, O, Y, G or B.</summary>
    public required string Triage { get; init; }

    public required AlarmState State { get; init; }

    /// <summary>The sensor that caused it; absent for gateway-level alarms such as <c>test</c>.</summary>
    public string? SensorId { get; init; }

    /// <summary>A room label such as <c>bedroom</c>; never a name or an address.</summary>
    public string? Room { get; init; }

    /// <summary>When the alarm was raised, UTC.</summary>
    public required DateTimeOffset RaisedAt { get; init; }

    /// <summary>When this copy was sent, UTC. <c>sentAt - raisedAt</c> is how long it waited on the gateway.</summary>
    public required DateTimeOffset SentAt { get; init; }

    /// <summary>1 for the first send, then 2, 3... for re-sends of the same alarm.</summary>
    public required int Attempt { get; init; }

    /// <summary>Why the rule fired, in plain words, for the operator. Holds no personal data.</summary>
    public required string Reason { get; init; }

    /// <summary>
    /// How many times the call came again while this alarm was open (another press, fall, smoke or water event; see
    /// <see cref="AlarmCatalog.Repeats"/>); absent before the first repeat. A copy with more repeats than the centre
    /// has is not a duplicate: the centre alerts the operator again.
    /// </summary>
    public int? Repeats { get; init; }

    /// <summary>When the latest repeat happened, UTC; present exactly when <see cref="Repeats"/> is.</summary>
    public DateTimeOffset? RepeatedAt { get; init; }
}

/// <summary>Centre -> gateway on <c>care/v1/{gatewayId}/ack</c>. Schema: docs/schemas/ack.schema.json.</summary>
public sealed record AckMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string AlarmId { get; init; }

    public required string GatewayId { get; init; }

    public required AckState State { get; init; }

    /// <summary>Who acknowledged: the centre system's id for <c>received</c>, an operator's id otherwise.</summary>
    public required string By { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>Optional operator note (no health details: it is kept on the gateway).</summary>
    public string? Note { get; init; }

    /// <summary>
    /// With <c>received</c>: the repeats of the alarm the centre has stored. The gateway sends the alarm again until the
    /// centre has every repeat; absent means none.
    /// </summary>
    public int? Repeats { get; init; }
}

/// <summary>Gateway -> centre on <c>care/v1/{gatewayId}/status</c>, retained. Schema: docs/schemas/status.schema.json.</summary>
public sealed record StatusMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string GatewayId { get; init; }

    public required GatewayState State { get; init; }

    /// <summary>When the state began: the connect time for <c>online</c>; for the last will, the time of the connect it belongs to.</summary>
    public required DateTimeOffset Since { get; init; }

    public string? SoftwareVersion { get; init; }
}

/// <summary>Gateway -> centre on <c>care/v1/{gatewayId}/heartbeat</c>. Schema: docs/schemas/heartbeat.schema.json.</summary>
public sealed record HeartbeatMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string GatewayId { get; init; }

    public required DateTimeOffset At { get; init; }

    public required long UptimeSeconds { get; init; }

    /// <summary>Alarms stored on the gateway that the centre has not yet acknowledged as received.</summary>
    public required int PendingAlarms { get; init; }

    /// <summary>The highest alarm sequence number issued so far (0 when none).</summary>
    public required long LastSeq { get; init; }

    /// <summary>The heartbeat interval in seconds, so the centre knows when one is missing.</summary>
    public required int IntervalSeconds { get; init; }
}

/// <summary>
/// Centre -> gateway on <c>care/v1/{gatewayId}/heartbeat-ack</c>: the centre's answer to one heartbeat, so the gateway
/// can tell a silent centre from a quiet night. Schema: docs/schemas/heartbeat-ack.schema.json.
/// </summary>
public sealed record HeartbeatAckMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string GatewayId { get; init; }

    /// <summary>The <c>at</c> of the heartbeat answered (the gateway's clock), so the gateway can measure the round trip.</summary>
    public required DateTimeOffset HeartbeatAt { get; init; }

    /// <summary>When the centre answered (the centre's clock).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>The centre system's id.</summary>
    public required string By { get; init; }
}
