using CareGateway.Protocol;

namespace CareGateway.Core;

/// <summary>
/// Turns a rule's <see cref="AlarmRequest"/> into a stored alarm: gives it a time-ordered id (UUIDv7), its VKP code,
/// triage and the profile's priority, and waits until the outbox has it on disk.
/// </summary>
public sealed class AlarmRaiser(IAlarmOutbox outbox, Func<CareProfile> profile)
{
    /// <summary>Raised after an alarm is durable, with the alarm and its sequence number.</summary>
    public event Action<NewAlarm, long>? Stored;

    /// <summary>Raised when an alarm was not stored because one of its type and sensor is still open (and it does not repeat).</summary>
    public event Action<AlarmRequest>? Suppressed;

    /// <summary>Raised after a repeat of an open alarm is durable (another press, fall, smoke or water event).</summary>
    public event Action<AlarmRequest, AlarmRepeat>? Repeated;

    /// <summary>
    /// Stores the alarm unless one of the same type for the same sensor is still open (raised and not yet closed by the
    /// centre): a bouncing door or a repeating button does not make fifty alarms. Cancelled alarms are reports and are
    /// always stored. Returns null when suppressed.
    /// </summary>
    public async Task<NewAlarm?> RaiseUnlessOpenAsync(AlarmRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await RaiseUnlessOpenAsync([request], cancellationToken))[0];
    }

    /// <summary>
    /// Stores several alarms, in order and with one commit where the outbox can (group commit), each unless one of its
    /// type and sensor is open, counting those earlier in the list (then a press, fall, smoke or water event is a
    /// repeat of the open alarm, see <see cref="Repeated"/>). Returns the stored alarm, or null where not stored.
    /// </summary>
    public async Task<IReadOnlyList<NewAlarm?>> RaiseUnlessOpenAsync(IReadOnlyList<AlarmRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var alarms = requests.Select(Create).ToArray();
        var outcomes = await outbox.AddUnlessOpenAsync(alarms, cancellationToken);
        var result = new NewAlarm?[alarms.Length];
        for (var i = 0; i < alarms.Length; i++)
        {
            if (outcomes[i].Seq is { } seq)
            {
                result[i] = alarms[i];
                Stored?.Invoke(alarms[i], seq);
            }
            else if (outcomes[i].Repeat is { } repeat)
            {
                Repeated?.Invoke(requests[i], repeat);
            }
            else
            {
                Suppressed?.Invoke(requests[i]);
            }
        }

        return result;
    }

    public async Task<NewAlarm> RaiseAsync(AlarmRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var alarm = Create(request);
        var seq = await outbox.AddAsync(alarm, cancellationToken);
        Stored?.Invoke(alarm, seq);
        return alarm;
    }

    private NewAlarm Create(AlarmRequest request)
    {
        var info = AlarmCatalog.Get(request.Type);
        return new NewAlarm(
            AlarmId: Guid.CreateVersion7(request.At).ToString(),
            Type: info.Type,
            Priority: profile().PriorityOf(info.Type),
            VkpCode: info.VkpCode,
            Triage: info.Triage,
            State: request.State,
            SensorId: request.SensorId,
            Room: request.Room,
            RaisedAt: request.At.ToUniversalTime(),
            Reason: request.Reason);
    }
}
