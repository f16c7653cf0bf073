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
    /// Counts one more repeat of the open alarm of this type and sensor, durably, and makes it due for sending again;
    /// returns that alarm's id and its repeats now, or null when none is open. The default (a store that cannot) is null.
    /// </summary>
    Task<AlarmRepeat?> RepeatAsync(string type, string? sensorId, DateTimeOffset at, CancellationToken cancellationToken) => Task.FromResult<AlarmRepeat?>(null);

    /// <summary>
    /// Stores several alarms, in order, each unless one of its type and sensor is open (see <see cref="HasOpenAsync"/>;
    /// an alarm earlier in the same list counts). Then a call that repeats (<see cref="AlarmCatalog.Repeats"/>: a press,
    /// a fall, smoke, water) counts as a repeat of the open one (see <see cref="RepeatAsync"/>) and any other is dropped;
    /// a cancelled alarm is a report and is always stored. A store that can should make them all durable with one
    /// commit (group commit): a burst of alarms then costs one fsync instead of one each.
    /// </summary>
    async Task<IReadOnlyList<AddOutcome>> AddUnlessOpenAsync(IReadOnlyList<NewAlarm> alarms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        var result = new AddOutcome[alarms.Count];
        for (var i = 0; i < alarms.Count; i++)
        {
            var a = alarms[i];
            if (a.State == AlarmState.Raised && await HasOpenAsync(a.Type, a.SensorId, cancellationToken))
            {
                result[i] = AlarmCatalog.Repeats(a.Type) && await RepeatAsync(a.Type, a.SensorId, a.RaisedAt, cancellationToken) is { } repeat
                    ? AddOutcome.Repeated(repeat)
                    : AddOutcome.Dropped;
                continue;
            }

            result[i] = AddOutcome.Added(await AddAsync(a, cancellationToken));
        }

        return result;
    }
}

/// <summary>An open alarm that was repeated: its id and how many repeats it has now.</summary>
public sealed record AlarmRepeat(string AlarmId, int Repeats);

/// <summary>What storing one alarm did: a new alarm with its sequence number, a repeat of an open one, or nothing.</summary>
public readonly record struct AddOutcome(long? Seq, AlarmRepeat? Repeat)
{
    public static AddOutcome Dropped => default;

    public static AddOutcome Added(long seq) => new(seq, null);

    public static AddOutcome Repeated(AlarmRepeat repeat) => new(null, repeat);
}
