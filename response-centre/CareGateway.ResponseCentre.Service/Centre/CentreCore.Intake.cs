using System.Threading.Channels;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// The intake: a group commit with one writer. Alarms and heartbeats queue in arrival order; the writer takes
/// everything that waits (up to <see cref="MaxBatch"/>) and stores it in ONE transaction
/// (<see cref="ICentreStore.CommitIntakeAsync"/>: gateway row, alarm once by id, sensor problem, the <c>received</c>
/// acknowledgement row; each heartbeat), so one commit (one fsync) makes the whole batch durable. Only after that
/// commit are the batch's <c>received</c> acknowledgements published, and the heartbeats answered.
/// There is no waiting window: while one commit is in flight the next batch gathers, so a lone alarm is stored at once
/// and a burst shares its fsyncs. One writer also means SQLite's write lock is not fought over (a waiting writer backs
/// off in steps of milliseconds). Heartbeats go the same way because with 10,000 gateways they are hundreds a second,
/// and one commit each was what held the alarms back (docs/performance.md).
/// Marking acknowledgements sent rides along in the next batch's transaction (or is written on its own when nothing
/// else waits); an acknowledgement published but not yet marked is published again by the retry after a crash, which
/// the gateway takes as one more <c>received</c>.
/// Semantics are those of storing one alarm at a time: stored once by gateway and <c>alarmId</c> (a copy from the same
/// gateway counts up <c>copies</c>; the same id from another gateway is another alarm,
/// also within one batch), every copy answered, alarms stored and answered in the order they arrived. When a batch
/// fails, its items are stored one by one, so a bad alarm fails alone and the others are still answered.
/// </summary>
public sealed partial class CentreCore : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many alarms in one transaction.</summary>
    internal const int MaxBatch = 256;

    // Not SingleReader: that channel cannot count what waits, which decides when 'sent' is written on its own.
    private readonly Channel<Pending> _intake = Channel.CreateUnbounded<Pending>();
    private readonly List<string> _acksSent = [];

    // 'received' acknowledgements the intake has written and is publishing or about to mark sent (value 0), or has marked
    // sent (value: when, TimeProvider timestamp): the retry of unsent acknowledgements leaves them alone, else a busy
    // centre would answer many alarms twice (the retry's list of unsent ones may be read just before the mark).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _acksInFlight = new(StringComparer.Ordinal);
    private Task? _writer;
    private long _batches;
    private long _batchedAlarms;

    private long _batchedHeartbeats;
    private long _commitTicks;
    private long _commitTicksMax;

    /// <summary>Transactions the intake has committed, and the alarms in them (for the figures and the tests).</summary>
    internal (long Batches, long Alarms) IntakeCounts => (Interlocked.Read(ref _batches), Interlocked.Read(ref _batchedAlarms));

    /// <summary>
    /// The intake so far: commits, alarms and heartbeats in them, total time in commits, and the longest commit since
    /// the last call (which resets it). The health monitor logs it at Debug: how a busy centre is doing.
    /// </summary>
    public IntakeStatistics TakeIntakeStatistics() => new(
        Interlocked.Read(ref _batches), Interlocked.Read(ref _batchedAlarms), Interlocked.Read(ref _batchedHeartbeats),
        TimeSpan.FromTicks(Interlocked.Read(ref _commitTicks)), TimeSpan.FromTicks(Interlocked.Exchange(ref _commitTicksMax, 0)));

    private Task<bool> EnqueueAlarmAsync(AlarmMessage alarm, CancellationToken ct) => Enqueue(new Pending(alarm, null, NewDone()), ct);

    private Task<bool> EnqueueHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken ct) => Enqueue(new Pending(null, heartbeat, NewDone()), ct);

    private static TaskCompletionSource<bool> NewDone() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task<bool> Enqueue(Pending item, CancellationToken ct)
    {
        if (_writer is null)
        {
            lock (_intake)
            {
                _writer ??= Task.Run(WriteLoopAsync, CancellationToken.None);
            }
        }

        if (!_intake.Writer.TryWrite(item))
        {
            var what = item.Alarm is { } a ? $"alarm {a.AlarmId} from {a.GatewayId}" : $"heartbeat from {item.Heartbeat!.GatewayId}";
            throw new InvalidOperationException($"The centre is stopping: {what} was not taken (the gateway sends it again)");
        }

        return item.Done.Task.WaitAsync(ct);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _intake.Reader;
        var batch = new List<Pending>(MaxBatch);
        var alarms = new List<Pending>(MaxBatch);
        var heartbeats = new List<Pending>(MaxBatch);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            alarms.Clear();
            heartbeats.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
                (item.Alarm is not null ? alarms : heartbeats).Add(item);
            }

            // Each gateway's limits first (CentreCore.Limits.cs): what is over them is refused here, unanswered.
            var floods = new List<(string GatewayId, GatewayIntake State)>();
            try
            {
                var within = await AdmitAsync(alarms, floods);
                if (within.Count != alarms.Count)
                {
                    var keep = within.ToHashSet();
                    batch.RemoveAll(p => p.Alarm is not null && !keep.Contains(p));
                    alarms.Clear();
                    alarms.AddRange(within);
                }
            }
#pragma warning disable CA1031 // the limits protect the other homes; if they cannot be checked, everything is stored as before
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Could not check the per-gateway intake limits; storing the batch as it is");
            }

            var now = time.GetUtcNow();
            List<IncomingAlarm> incoming;
            IntakeCommit commit;
            try
            {
                (incoming, commit) = await CommitBatchAsync(alarms, heartbeats, now);
            }
#pragma warning disable CA1031 // the writer must outlive any one failure: every item is completed, stored or with its error
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Storing a batch of {Alarms} alarms and {Heartbeats} heartbeats failed; storing them one by one", alarms.Count, heartbeats.Count);
                foreach (var item in batch)
                {
                    try
                    {
                        if (item.Alarm is { } alarm)
                        {
                            item.Done.TrySetResult(await StoreOneAlarmAsync(alarm, CancellationToken.None));
                        }
                        else
                        {
                            await StoreOneHeartbeatAsync(item.Heartbeat!, CancellationToken.None);
                            item.Done.TrySetResult(true);
                        }
                    }
#pragma warning disable CA1031 // handed to the caller, who logs it (an alarm is not answered, so the gateway sends it again)
                    catch (Exception one)
#pragma warning restore CA1031
                    {
                        item.Done.TrySetException(one);
                    }
                }

                await RaiseFloodsAsync(floods);
                continue;
            }

            // Stored: from here on nothing may store them again (that would only count copies and answer twice).
            try
            {
                await AnswerBatchAsync(alarms, incoming, commit, now, reader);
            }
#pragma warning disable CA1031 // the alarms are stored; their unsent acknowledgements are published again by the health loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Answering a stored batch of {Count} alarms failed; the health loop sends what is unsent", alarms.Count);
            }

            for (var i = 0; i < alarms.Count; i++)
            {
                alarms[i].Done.TrySetResult(commit.Fresh[i]);
            }

            if (floods.Count > 0)
            {
                await RaiseFloodsAsync(floods);
            }

            if (heartbeats.Count > 0)
            {
                // What follows the heartbeats (mostly reads: the sequence check) runs beside the writer, so that the
                // next batch is not held up by it.
                var recorded = heartbeats.ToArray();
                var before = commit.HeartbeatsBefore;
                _ = Task.Run(() => AfterHeartbeatsAsync(recorded, before, now), CancellationToken.None);
            }
        }
    }

    private async Task AfterHeartbeatsAsync(Pending[] heartbeats, IReadOnlyList<GatewayRecord?> before, DateTimeOffset now)
    {
        for (var i = 0; i < heartbeats.Length; i++)
        {
            try
            {
                await AfterHeartbeatAsync(heartbeats[i].Heartbeat!, before[i], now, CancellationToken.None);
                heartbeats[i].Done.TrySetResult(true);
            }
#pragma warning disable CA1031 // the heartbeat is recorded; what follows it is handed to the caller, who logs it
            catch (Exception ex)
#pragma warning restore CA1031
            {
                heartbeats[i].Done.TrySetException(ex);
            }
        }
    }

    private async Task<(List<IncomingAlarm> Incoming, IntakeCommit Commit)> CommitBatchAsync(List<Pending> alarms, List<Pending> heartbeats, DateTimeOffset now)
    {
        var incoming = new List<IncomingAlarm>(alarms.Count);
        foreach (var item in alarms)
        {
            var alarm = item.Alarm!;
            // 'received' says how many repeats this copy brought: the gateway sends again until the centre has them all.
            var ack = new AckRecord { AckId = Guid.CreateVersion7().ToString(), AlarmId = alarm.AlarmId, GatewayId = alarm.GatewayId, State = AckState.Received, By = settings.CentreId, At = now, Repeats = alarm.Repeats ?? 0 };
            var problem = alarm.SensorId is { } sensor && SensorProblemTypes.Contains(alarm.Type)
                ? new SensorProblem(alarm.GatewayId, sensor, alarm.Room, alarm.Type, alarm.RaisedAt, alarm.AlarmId)
                : null;
            incoming.Add(new IncomingAlarm(StoredAlarm.FromMessage(alarm, now), ack, problem));
            _acksInFlight[ack.AckId] = 0L;
        }

        // The commit: when it returns, every alarm of the batch is durable. Nothing is answered before this.
        IntakeCommit commit;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            commit = await store.CommitIntakeAsync(incoming, [.. heartbeats.Select(h => new HeartbeatArrival(h.Heartbeat!, now))], _acksSent, now, CancellationToken.None);
        }
        catch
        {
            foreach (var item in incoming)
            {
                _acksInFlight.TryRemove(item.Received.AckId, out _);
            }

            throw;
        }

        ForgetInFlight(_acksSent);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _batchedAlarms, alarms.Count);
        Interlocked.Add(ref _batchedHeartbeats, heartbeats.Count);
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks;
        Interlocked.Add(ref _commitTicks, took);
        if (took > Interlocked.Read(ref _commitTicksMax))
        {
            Interlocked.Exchange(ref _commitTicksMax, took);
        }

        return (incoming, commit);
    }

    private async Task AnswerBatchAsync(List<Pending> alarms, List<IncomingAlarm> incoming, IntakeCommit commit, DateTimeOffset now, ChannelReader<Pending> reader)
    {
        var fresh = commit.Fresh;
        if (alarms.Count == 0)
        {
            return;
        }

        // 'received' for every alarm and copy, published together (QoS 1, in arrival order), after the commit.
        var sends = new Task<bool>[incoming.Count];
        for (var i = 0; i < incoming.Count; i++)
        {
            sends[i] = TrySendAsync(incoming[i].Received);
        }

        var sent = await Task.WhenAll(sends);
        var anyFresh = false;
        for (var i = 0; i < alarms.Count; i++)
        {
            var alarm = alarms[i].Alarm!;
            if (sent[i])
            {
                _acksSent.Add(incoming[i].Received.AckId);
            }
            else
            {
                _acksInFlight.TryRemove(incoming[i].Received.AckId, out _);
                log.LogWarning("The 'received' acknowledgement for {AlarmId} waits for the broker", alarm.AlarmId);
            }

            var repeated = commit.Repeated.Count > i && commit.Repeated[i];
            anyFresh |= fresh[i] || repeated;
            await AfterStoredAsync(alarm, fresh[i], now, repeated);
        }

        events.Publish(anyFresh ? "alarm" : "changed");

        // Nothing else waiting: write 'sent' now rather than with a next batch that may not come soon.
        if (_acksSent.Count > 0 && reader.Count == 0)
        {
            try
            {
                await store.MarkAcksSentAsync(_acksSent, time.GetUtcNow(), CancellationToken.None);
                ForgetInFlight(_acksSent);
            }
#pragma warning disable CA1031 // kept for the next batch; at worst the retry publishes them once more
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Could not mark {Count} acknowledgements sent; trying again with the next alarms", _acksSent.Count);
            }
        }
    }

    /// <summary>These are written sent: remembered a little longer (see <see cref="_acksInFlight"/>), then forgotten by the retry.</summary>
    private void ForgetInFlight(List<string> written)
    {
        var now = Math.Max(1, time.GetTimestamp());
        foreach (var id in written)
        {
            _acksInFlight[id] = now;
        }

        written.Clear();
    }

    /// <summary>Whether the retry must leave this acknowledgement alone (being published, or marked sent lately).</summary>
    private bool InFlight(string ackId) => _acksInFlight.ContainsKey(ackId);

    /// <summary>Forgets acknowledgements marked sent more than a minute ago (the retry's list is read fresh every few seconds).</summary>
    private void ForgetOldSent()
    {
        foreach (var (id, markedAt) in _acksInFlight)
        {
            if (markedAt != 0 && time.GetElapsedTime(markedAt) > TimeSpan.FromMinutes(1))
            {
                _acksInFlight.TryRemove(id, out _);
            }
        }
    }

    private async Task<bool> TrySendAsync(AckRecord ack)
    {
        try
        {
            return await sender.TrySendAsync(ToMessage(ack), CancellationToken.None);
        }
#pragma warning disable CA1031 // the acknowledgement is stored unsent; the health loop publishes it again
        catch (Exception ex)
#pragma warning restore CA1031
        {
            log.LogWarning("Could not publish the 'received' acknowledgement for {AlarmId}: {Error}", ack.AlarmId, ex.Message);
            return false;
        }
    }

    /// <summary>What follows storing one alarm: the automatic close of a test alarm, and the log line.</summary>
    private async Task AfterStoredAsync(AlarmMessage alarm, bool fresh, DateTimeOffset now, bool repeated = false)
    {
        if (repeated)
        {
            // Logged as a warning: the resident called again and the operator is alerted again.
            log.LogWarning("Alarm {AlarmId} ({Type}) from {GatewayId} repeated: {Repeats} times, the latest at {RepeatedAt:u}",
                alarm.AlarmId, alarm.Type, alarm.GatewayId, alarm.Repeats, alarm.RepeatedAt);
            return;
        }

        if (fresh && alarm.Type == AlarmType.Test)
        {
            try
            {
                if (await store.CloseAsync(new AlarmKey(alarm.GatewayId, alarm.AlarmId), settings.CentreId, now, AutomaticTestNote, CloseOutcome.Handled, CancellationToken.None))
                {
                    await SendAckAsync(alarm.GatewayId, alarm.AlarmId, AckState.Closed, settings.CentreId, CancellationToken.None);
                }
            }
#pragma warning disable CA1031 // the test alarm is stored and answered; an operator can still close it
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogWarning(ex, "Could not close test alarm {AlarmId} automatically", alarm.AlarmId);
            }

            log.LogInformation("Test alarm {AlarmId} from {GatewayId} seq {Seq} stored and closed automatically", alarm.AlarmId, alarm.GatewayId, alarm.Seq);
        }
        else if (fresh)
        {
            log.LogInformation("Alarm {AlarmId} ({Type}, {Priority}) from {GatewayId} seq {Seq} stored", alarm.AlarmId, alarm.Type, alarm.Priority, alarm.GatewayId, alarm.Seq);
        }
        else
        {
            log.LogDebug("Copy {Attempt} of alarm {AlarmId} from {GatewayId}: already stored", alarm.Attempt, alarm.AlarmId, alarm.GatewayId);
        }
    }

    /// <summary>Stops taking alarms and lets the writer finish what it has.</summary>
    public async ValueTask DisposeAsync()
    {
        _intake.Writer.TryComplete();
        if (_writer is { } writer)
        {
            await writer;
        }
    }

    public void Dispose() => _intake.Writer.TryComplete();

    /// <summary>An alarm or a heartbeat waiting for the writer.</summary>
    private sealed record Pending(AlarmMessage? Alarm, HeartbeatMessage? Heartbeat, TaskCompletionSource<bool> Done);
}

/// <summary>What the intake has done (<see cref="CentreCore.TakeIntakeStatistics"/>).</summary>
public sealed record IntakeStatistics(long Commits, long Alarms, long Heartbeats, TimeSpan InCommits, TimeSpan LongestCommitSinceLast);
