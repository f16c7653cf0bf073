using Microsoft.Extensions.Logging;

namespace CareGateway.Uplink;

/// <summary>Something the resident (or a visiting technician) must be told locally, by buzzer, LED or display.</summary>
public enum LocalWarning
{
    /// <summary>An alarm has had no <c>received</c> from the centre in time, or the gateway has had no connection for that long.</summary>
    CentreUnreachable,

    /// <summary>The broker is reachable but the centre has stopped answering heartbeats.</summary>
    CentreSilent,

    /// <summary>The centre stored an alarm but no operator has accepted it in time: escalated.</summary>
    AlarmNotAccepted,

    /// <summary>The alarm store is over its bound or the disk is full: a technician must look (stays on until restart).</summary>
    StorageProblem,
}

/// <summary>
/// The gateway's local outputs for warnings about the path to the centre. The hardware side implements it with a buzzer
/// and LEDs; <see cref="LoggingIndicator"/> only logs. Called only when a warning turns on or off.
/// </summary>
public interface ILocalIndicator
{
    void Show(LocalWarning warning, bool active, string reason);
}

/// <summary>An indicator without hardware: every change is logged (on as an error, off as information).</summary>
public sealed class LoggingIndicator(ILogger log) : ILocalIndicator
{
    public void Show(LocalWarning warning, bool active, string reason)
    {
        if (active)
        {
            log.LogError("LOCAL WARNING ON {Warning}: {Reason}", warning, reason);
        }
        else
        {
            log.LogInformation("Local warning off {Warning}: {Reason}", warning, reason);
        }
    }
}

/// <summary>What the supervisor needs to know about the outbox at one moment.</summary>
/// <param name="Unreceived">Alarms raised at least <see cref="ForwarderOptions.ReceivedTimeout"/> ago without <c>received</c>.</param>
/// <param name="OldestUnreceivedRaisedAt">The oldest of those.</param>
/// <param name="NotAccepted">Alarms received but not accepted within <see cref="ForwarderOptions.AcceptedTimeout"/> (never <c>test</c> or cancelled ones).</param>
public sealed record OutboxOverdue(int Unreceived, DateTimeOffset? OldestUnreceivedRaisedAt, IReadOnlyList<OutboxAlarm> NotAccepted)
{
    /// <summary>
    /// Alarms that may still become overdue: waiting for <c>received</c>, or received and waiting for an operator's
    /// <c>accepted</c> (test and cancelled alarms need none). True unless the store says otherwise.
    /// </summary>
    public bool Outstanding { get; init; } = true;
}

/// <summary>
/// The acknowledgement timers and the silent-centre watch, as plain deterministic code: fed with the time, the connection
/// state, the centre's heartbeat answers and what is overdue in the outbox, it switches local warnings on and off and
/// says which alarms to escalate. The uplink calls it; tests drive it with fake time.
/// </summary>
public sealed class CentreSupervisor(ForwarderOptions options, ILocalIndicator indicator)
{
    private readonly Dictionary<LocalWarning, bool> _state = [];
    private readonly HashSet<string> _escalated = new(StringComparer.Ordinal);
    private DateTimeOffset? _disconnectedSince;
    private DateTimeOffset? _connectedSince;
    private DateTimeOffset? _lastCentreAnswer;
    private DateTimeOffset? _firstUnanswered;

    /// <summary>How long the centre may leave heartbeats unanswered before the gateway calls it silent.</summary>
    public TimeSpan SilentAfter => options.CentreSilentAfter ?? options.HeartbeatInterval * 3;

    public DateTimeOffset? LastCentreAnswer => _lastCentreAnswer;

    public IReadOnlyList<LocalWarning> ActiveWarnings => [.. _state.Where(kv => kv.Value).Select(kv => kv.Key).Order()];

    public void Started(DateTimeOffset now) => _disconnectedSince ??= now;

    public void ConnectionUp(DateTimeOffset now)
    {
        _connectedSince = now;
        _firstUnanswered = null;
        _disconnectedSince = null;
    }

    public void ConnectionDown(DateTimeOffset now)
    {
        _connectedSince = null;
        _disconnectedSince ??= now;
    }

    /// <summary>The centre answered a heartbeat (or anything else that proves it is alive, such as an acknowledgement).</summary>
    public void CentreAnswered(DateTimeOffset now)
    {
        _lastCentreAnswer = now;
        _firstUnanswered = null;
        Set(LocalWarning.CentreSilent, false, "the centre answers again");
    }

    /// <summary>
    /// A heartbeat went out (the broker took it). Silence is counted from the first heartbeat the centre has not answered,
    /// so a gateway that could not send (or whose clock jumped) never blames the centre.
    /// </summary>
    public void HeartbeatSent(DateTimeOffset now) => _firstUnanswered ??= now;

    /// <summary>Looks at everything once; returns the alarms newly escalated for not being accepted in time.</summary>
    public IReadOnlyList<OutboxAlarm> Evaluate(DateTimeOffset now, OutboxOverdue overdue)
    {
        ArgumentNullException.ThrowIfNull(overdue);

        // No 'received' in time, or no connection for that long: the centre cannot be reached.
        if (overdue.Unreceived > 0)
        {
            Set(LocalWarning.CentreUnreachable, true, $"{overdue.Unreceived} alarm(s) without 'received' from the centre for more than {options.ReceivedTimeout} (oldest raised at {overdue.OldestUnreceivedRaisedAt:O})");
        }
        else if (_disconnectedSince is { } down && now - down >= options.ReceivedTimeout)
        {
            Set(LocalWarning.CentreUnreachable, true, $"no connection to the centre's broker since {down:O}");
        }
        else
        {
            Set(LocalWarning.CentreUnreachable, false, "every alarm is received and the connection is up");
        }

        // Connected, but the centre has not answered the heartbeats sent for too long.
        if (_connectedSince is not null)
        {
            if (_firstUnanswered is { } first && now - first >= SilentAfter)
            {
                Set(LocalWarning.CentreSilent, true, $"the broker is reachable but the centre has answered no heartbeat since {first:O} (last answer {(_lastCentreAnswer is { } last ? last.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "never")})");
            }
        }
        else
        {
            Set(LocalWarning.CentreSilent, false, "no connection: see CentreUnreachable");
        }

        var escalate = new List<OutboxAlarm>();
        foreach (var alarm in overdue.NotAccepted)
        {
            if (_escalated.Add(alarm.Alarm.AlarmId))
            {
                escalate.Add(alarm);
            }
        }

        Set(
            LocalWarning.AlarmNotAccepted,
            overdue.NotAccepted.Count > 0 && options.EscalateLocally,
            overdue.NotAccepted.Count > 0
                ? $"{overdue.NotAccepted.Count} alarm(s) received by the centre but not accepted by an operator within {options.AcceptedTimeout}"
                : "every received alarm has been accepted");
        return escalate;
    }

    /// <summary>
    /// How long supervision may sleep after a look: <paramref name="interval"/> while anything can become overdue (an
    /// outstanding alarm, no connection, a warning on); else until the first unanswered heartbeat turns silent, at most
    /// <paramref name="idle"/> (a new alarm, a lost connection and a heartbeat sent wake it sooner).
    /// </summary>
    public TimeSpan NextLook(DateTimeOffset now, bool alarmsOutstanding, TimeSpan interval, TimeSpan idle)
    {
        if (alarmsOutstanding || _connectedSince is null || _state.ContainsValue(true))
        {
            return interval;
        }

        var wait = idle > interval ? idle : interval;
        if (_firstUnanswered is { } first)
        {
            var silentIn = first + SilentAfter - now;
            if (silentIn < wait)
            {
                wait = silentIn > TimeSpan.Zero ? silentIn : interval;
            }
        }

        return wait;
    }

    /// <summary>The outbox had to grow past its bound or use its disk reserve.</summary>
    public void StorageProblem(string reason) => Set(LocalWarning.StorageProblem, true, reason);

    private void Set(LocalWarning warning, bool on, string reason)
    {
        if (_state.GetValueOrDefault(warning) == on)
        {
            return;
        }

        _state[warning] = on;
        indicator.Show(warning, on, reason);
    }
}

/// <summary>The uplink's state for diagnostics.</summary>
public sealed record UplinkDiagnostics(
    bool Connected,
    DateTimeOffset? ConnectedSince,
    DateTimeOffset? LastCentreAnswer,
    TimeSpan? LastHeartbeatRoundTrip,
    DateTimeOffset? LastTestAlarmAnsweredAt,
    TimeSpan? LastTestAlarmRoundTrip,
    int PendingAlarms,
    IReadOnlyList<LocalWarning> ActiveWarnings);
