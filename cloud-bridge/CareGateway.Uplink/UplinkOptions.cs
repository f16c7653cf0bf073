using CareGateway.Resilience;

namespace CareGateway.Uplink;

/// <summary>How the <see cref="Forwarder"/> forwards, the same over every transport.</summary>
public record ForwarderOptions
{
    public required string GatewayId { get; init; }

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>An alarm not acknowledged as received within this time is sent again.</summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(15);

    public string? SoftwareVersion { get; init; }

    /// <summary>
    /// An alarm without <c>received</c> this long after it was raised (or no connection for this long) turns on the
    /// local <see cref="LocalWarning.CentreUnreachable"/> warning. Re-sending goes on meanwhile (<see cref="ResendAfter"/>).
    /// </summary>
    public TimeSpan ReceivedTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A received alarm that no operator has accepted this long after it was raised is escalated.</summary>
    public TimeSpan AcceptedTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Escalation of an alarm not accepted in time: send it again (the centre sees a higher attempt).</summary>
    public bool EscalateByResend { get; init; } = true;

    /// <summary>Escalation of an alarm not accepted in time: the local <see cref="LocalWarning.AlarmNotAccepted"/> warning.</summary>
    public bool EscalateLocally { get; init; } = true;

    /// <summary>Unanswered heartbeats for this long mean the centre is silent; null means three heartbeat intervals.</summary>
    public TimeSpan? CentreSilentAfter { get; init; }

    /// <summary>How often the acknowledgement timers and the silent-centre watch look; short enough to be prompt.</summary>
    public TimeSpan SupervisionInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Interval of the automatic end-to-end <c>test</c> alarm; null turns it off.</summary>
    public TimeSpan? TestAlarmInterval { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often delivered alarms older than the retention are removed from the outbox.</summary>
    public TimeSpan PruneInterval { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>How the gateway reaches the centre's MQTT broker (care/v1), and how it forwards.</summary>
public sealed record UplinkOptions : ForwarderOptions
{
    public required string Host { get; init; }

    public int Port { get; init; } = 8883;

    /// <summary>MQTT username; by default the gateway id.</summary>
    public string? Username { get; init; }

    /// <summary>MQTT password. Never logged.</summary>
    public string? Password { get; init; }

    /// <summary>TLS settings; null only for loopback demos and tests.</summary>
    public TlsOptions? Tls { get; init; }

    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound for one publish to be acknowledged by the broker (PUBACK), and for a ping.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the broker keeps the gateway's session (and queued acknowledgements) while it is away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Upper bound for the TCP, TLS and MQTT handshake of one connection attempt.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first step of the reconnect back-off.</summary>
    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The cap of the reconnect back-off (docs/operations.md, "Reconnecting", says why 2 s).</summary>
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The reconnect back-off these options describe.</summary>
    public Backoff Reconnect => new(ReconnectMin, ReconnectMax);
}

/// <summary>TLS to the broker: the CA to trust (pinned) and, for mutual TLS, the gateway's certificate and key.</summary>
public sealed record TlsOptions
{
    /// <summary>PEM file of the CA that signed the broker's certificate; only that CA is trusted.</summary>
    public required string CaFile { get; init; }

    /// <summary>PEM file of the gateway's client certificate (mutual TLS).</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM file of the gateway's private key (mutual TLS). Readable by the service user only.</summary>
    public string? KeyFile { get; init; }
}
