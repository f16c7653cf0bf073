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

    /// <summary>Raised when an alarm was not stored because one of its type and sensor is still open.</summary>
    public event Action<AlarmRequest>? Suppressed;

    /// <summary>
    /// Stores the alarm unless one of the same type for the same sensor is still open (raised and not yet closed by the
    /// centre): a bouncing door or a repeating button does not make fifty alarms. Cancelled alarms are reports and are
    /// always stored. Returns null when suppressed.
    /// </summary>
    public async Task<NewAlarm?> RaiseUnlessOpenAsync(AlarmRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.State == AlarmState.Raised && await outbox.HasOpenAsync(request.Type, request.SensorId, cancellationToken))
        {
            Suppressed?.Invoke(request);
            return null;
        }

        return await RaiseAsync(request, cancellationToken);
    }

    public async Task<NewAlarm> RaiseAsync(AlarmRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var info = AlarmCatalog.Get(request.Type);
        var alarm = new NewAlarm(
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
        var seq = await outbox.AddAsync(alarm, cancellationToken);
        Stored?.Invoke(alarm, seq);
        return alarm;
    }
}
