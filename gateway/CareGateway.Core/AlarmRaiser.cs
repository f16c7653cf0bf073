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
            State: AlarmState.Raised,
            SensorId: request.SensorId,
            Room: request.Room,
            RaisedAt: request.At.ToUniversalTime(),
            Reason: request.Reason);
        var seq = await outbox.AddAsync(alarm, cancellationToken);
        Stored?.Invoke(alarm, seq);
        return alarm;
    }
}
