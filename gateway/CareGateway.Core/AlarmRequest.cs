using CareGateway.Protocol;

namespace CareGateway.Core;

/// <summary>What a rule decided: raise an alarm of this type, for this sensor, for this reason.</summary>
/// <param name="Type">One of <see cref="AlarmType"/>.</param>
/// <param name="SensorId">The sensor behind it, if any.</param>
/// <param name="Room">The room of that sensor, if any.</param>
/// <param name="Reason">Plain words for the operator (no personal data).</param>
/// <param name="At">When the condition was met (UTC).</param>
public sealed record AlarmRequest(string Type, string? SensorId, string? Room, string Reason, DateTimeOffset At)
{
    /// <summary><see cref="AlarmState.Cancelled"/> when the resident cancelled it in the pre-alarm window: still reported.</summary>
    public AlarmState State { get; init; } = AlarmState.Raised;
}

/// <summary>An alarm ready to be stored: everything but the per-gateway sequence number, which the outbox assigns.</summary>
public sealed record NewAlarm(
    string AlarmId,
    string Type,
    AlarmPriority Priority,
    string VkpCode,
    string Triage,
    AlarmState State,
    string? SensorId,
    string? Room,
    DateTimeOffset RaisedAt,
    string Reason);

/// <summary>
/// The durable store of alarms on their way to the centre. An alarm counts as raised only once
/// <see cref="AddAsync"/> has completed: by then it is on disk.
/// </summary>
public interface IAlarmOutbox
{
    /// <summary>Stores the alarm durably and returns the sequence number it was given.</summary>
    Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken);

    /// <summary>
    /// Is an alarm of this type for this sensor (null: no sensor) still open: raised, not cancelled, not yet closed by
    /// the centre. Used so that a bouncing door or a repeating button does not produce a new alarm while one is open.
    /// The default answers false (no de-duplication) for stores that cannot tell.
    /// </summary>
    Task<bool> HasOpenAsync(string type, string? sensorId, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>
    /// Stores several alarms, in order, each unless one of its type and sensor is open (see <see cref="HasOpenAsync"/>;
    /// an alarm earlier in the same list counts); a cancelled alarm is a report and is always stored. Returns each
    /// alarm's sequence number, or null where it was dropped. A store that can should make them all durable with one
    /// commit (group commit): a burst of alarms then costs one fsync instead of one each.
    /// </summary>
    async Task<IReadOnlyList<long?>> AddUnlessOpenAsync(IReadOnlyList<NewAlarm> alarms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        var result = new long?[alarms.Count];
        for (var i = 0; i < alarms.Count; i++)
        {
            if (alarms[i].State == AlarmState.Raised && await HasOpenAsync(alarms[i].Type, alarms[i].SensorId, cancellationToken))
            {
                continue;
            }

            result[i] = await AddAsync(alarms[i], cancellationToken);
        }

        return result;
    }
}
